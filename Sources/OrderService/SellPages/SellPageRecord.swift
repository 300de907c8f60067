import Foundation
import PixEcomProtos
import ServiceKit

/// A sell page as stored: a storefront page ads link to, with its variants (the only source of
/// prices a checkout uses) and discount codes.
struct SellPageRecord: Sendable, Hashable {
    enum Status: String, Sendable, CaseIterable {
        case draft = "DRAFT"
        case published = "PUBLISHED"
        case archived = "ARCHIVED"

        init?(_ proto: Pixecom_Orders_V1_SellPageStatus) {
            switch proto {
            case .draft: self = .draft
            case .published: self = .published
            case .archived: self = .archived
            default: return nil
            }
        }

        var proto: Pixecom_Orders_V1_SellPageStatus {
            switch self {
            case .draft: .draft
            case .published: .published
            case .archived: .archived
            }
        }
    }

    struct Variant: Sendable, Hashable {
        var sku: String
        var title: String
        /// Minor units of the page currency.
        var price: Int64
    }

    struct Discount: Sendable, Hashable {
        enum Kind: String, Sendable {
            case percent = "PERCENT"
            case fixedAmount = "FIXED_AMOUNT"
        }

        var code: String
        var kind: Kind
        var value: Int64

        /// What the discount takes off `subtotal`: a percentage rounded down to the minor unit, or
        /// a fixed amount; never more than the subtotal. `subtotal` is at most 5 x 10^13.
        func amount(off subtotal: Int64) -> Int64 {
            switch self.kind {
            // subtotal is at most 50 x 100 x 10^10 (CheckoutPricing's bounds), so x 100 fits.
            case .percent: min(subtotal, subtotal * self.value / 100)
            case .fixedAmount: min(subtotal, self.value)
            }
        }
    }

    var id: UUID
    var slug: String
    var title: String
    var currency: String
    var status: Status
    var shippingFee: Int64
    var taxRateBps: Int32
    var publicKey: String
    var createdAt: Date
    var updatedAt: Date
    var variants: [Variant] = []
    var discounts: [Discount] = []

    var proto: Pixecom_Orders_V1_SellPage {
        var page = Pixecom_Orders_V1_SellPage()
        page.id = self.id.uuidString.lowercased()
        page.slug = self.slug
        page.title = self.title
        page.currency = self.currency
        page.status = self.status.proto
        page.variants = self.variants.map { variant in
            Pixecom_Orders_V1_Variant.with {
                $0.sku = variant.sku
                $0.title = variant.title
                $0.price = variant.price
            }
        }
        page.discounts = self.discounts.map { discount in
            Pixecom_Orders_V1_Discount.with {
                $0.code = discount.code
                $0.kind = discount.kind == .percent ? .percent : .fixedAmount
                $0.value = discount.value
            }
        }
        page.shippingFee = self.shippingFee
        page.taxRateBps = self.taxRateBps
        page.publicKey = self.publicKey
        page.createTime = RequestValidation.timestamp(self.createdAt)
        page.updateTime = RequestValidation.timestamp(self.updatedAt)
        return page
    }
}
