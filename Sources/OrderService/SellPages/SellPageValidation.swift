import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A validated CreateSellPage request.
struct NewSellPage: Sendable, Hashable {
    var slug: String
    var title: String
    var currency: String
    var status: SellPageRecord.Status
    var variants: [SellPageRecord.Variant]
    var discounts: [SellPageRecord.Discount]
    var shippingFee: Int64
    var taxRateBps: Int32
}

/// A validated UpdateSellPage request: nil fields stay as they are.
struct SellPageChange: Sendable, Hashable {
    var title: String?
    var status: SellPageRecord.Status?
    var variants: [SellPageRecord.Variant]?
    var discounts: [SellPageRecord.Discount]?
    var shippingFee: Int64?
    var taxRateBps: Int32?
}

/// Parsing of the sell-page requests; every problem is reported with its field, all at once.
enum SellPageValidation {
    static let maxVariants = 100
    static let maxDiscounts = 50
    static let priceRange: ClosedRange<Int64> = 0...10_000_000_000
    static let shippingRange: ClosedRange<Int64> = 0...10_000_000_000

    static func newPage(_ request: Pixecom_Orders_V1_CreateSellPageRequest) throws -> NewSellPage {
        var violations = FieldViolations()
        let slug = Self.slug(request.slug, &violations)
        let title = try violations.check { try RequestValidation.text(request.title, field: "title") }
        let currency = try violations.check { try RequestValidation.currency(request.currency) }
        var status = SellPageRecord.Status.draft
        if request.status != .unspecified {
            if let given = SellPageRecord.Status(request.status) {
                status = given
            } else {
                violations.add(field: "status", "is not a status")
            }
        }
        let variants = Self.variants(request.variants, &violations)
        let discounts = Self.discounts(request.discounts, &violations)
        Self.shipping(request.shippingFee, &violations)
        Self.tax(request.taxRateBps, &violations)
        try violations.throwIfAny()
        guard let slug, let title, let currency else { throw RPCError(.internal, "sell page validation left a field unset") }
        return NewSellPage(
            slug: slug, title: title, currency: currency, status: status, variants: variants, discounts: discounts,
            shippingFee: request.shippingFee, taxRateBps: request.taxRateBps)
    }

    static func change(_ request: Pixecom_Orders_V1_UpdateSellPageRequest) throws -> (UUID, SellPageChange) {
        var violations = FieldViolations()
        let id = try violations.check { try RequestValidation.id(request.id, field: "id") }
        var change = SellPageChange()
        if !request.title.isEmpty {
            change.title = try violations.check { try RequestValidation.text(request.title, field: "title") }
        }
        if request.status != .unspecified {
            if let status = SellPageRecord.Status(request.status) {
                change.status = status
            } else {
                violations.add(field: "status", "is not a status")
            }
        }
        if request.replaceVariants {
            change.variants = Self.variants(request.variants, &violations)
        } else if !request.variants.isEmpty {
            violations.add(field: "variants", "are replaced as a whole: set replace_variants")
        }
        if request.replaceDiscounts {
            change.discounts = Self.discounts(request.discounts, &violations)
        } else if !request.discounts.isEmpty {
            violations.add(field: "discounts", "are replaced as a whole: set replace_discounts")
        }
        if request.setShippingFee {
            Self.shipping(request.shippingFee, &violations)
            change.shippingFee = request.shippingFee
        }
        if request.setTaxRateBps {
            Self.tax(request.taxRateBps, &violations)
            change.taxRateBps = request.taxRateBps
        }
        if change == SellPageChange() && violations.isEmpty {
            violations.add(field: "update", "changes nothing: give a title, status, variants, discounts, shipping fee or tax rate")
        }
        try violations.throwIfAny()
        guard let id else { throw RPCError(.internal, "sell page validation left id unset") }
        return (id, change)
    }

    private static func slug(_ value: String, _ violations: inout FieldViolations) -> String? {
        let bytes = Array(value.utf8)
        let valid =
            (1...63).contains(bytes.count)
            && bytes.enumerated().allSatisfy { index, byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (index > 0 && byte == UInt8(ascii: "-"))
            }
        guard valid else {
            violations.add(field: "slug", "must be 1 to 63 of a-z, 0-9 and -, not starting with -")
            return nil
        }
        return value
    }

    private static func variants(_ given: [Pixecom_Orders_V1_Variant], _ violations: inout FieldViolations) -> [SellPageRecord.Variant] {
        if given.isEmpty { violations.add(field: "variants", "must contain at least one variant") }
        if given.count > Self.maxVariants {
            violations.add(field: "variants", "must contain at most \(Self.maxVariants) variants, got \(given.count)")
        }
        var seen: Set<String> = []
        var variants: [SellPageRecord.Variant] = []
        for (index, variant) in given.prefix(Self.maxVariants).enumerated() {
            let field = "variants[\(index)]"
            var valid = true
            if !Self.isSKU(variant.sku) {
                violations.add(field: "\(field).sku", "must be 1 to 64 of A-Z, a-z, 0-9, -, _ and .")
                valid = false
            } else if !seen.insert(variant.sku).inserted {
                violations.add(field: "\(field).sku", "repeats \(variant.sku): a SKU names one variant of the page")
                valid = false
            }
            let title = try? violations.check { try RequestValidation.text(variant.title, field: "\(field).title") }
            if !Self.priceRange.contains(variant.price) {
                violations.add(field: "\(field).price", "must be between 0 and \(Self.priceRange.upperBound) minor units")
                valid = false
            }
            if valid, let title = title.flatMap({ $0 }) {
                variants.append(SellPageRecord.Variant(sku: variant.sku, title: title, price: variant.price))
            }
        }
        return variants
    }

    private static func discounts(_ given: [Pixecom_Orders_V1_Discount], _ violations: inout FieldViolations) -> [SellPageRecord.Discount] {
        if given.count > Self.maxDiscounts {
            violations.add(field: "discounts", "must contain at most \(Self.maxDiscounts) codes, got \(given.count)")
        }
        var seen: Set<String> = []
        var discounts: [SellPageRecord.Discount] = []
        for (index, discount) in given.prefix(Self.maxDiscounts).enumerated() {
            let field = "discounts[\(index)]"
            let code = discount.code.uppercased()
            var valid = true
            if !Self.isCode(code) {
                violations.add(field: "\(field).code", "must be 1 to 32 of A-Z, 0-9, - and _")
                valid = false
            } else if !seen.insert(code).inserted {
                violations.add(field: "\(field).code", "repeats \(code)")
                valid = false
            }
            let kind: SellPageRecord.Discount.Kind?
            switch discount.kind {
            case .percent: kind = .percent
            case .fixedAmount: kind = .fixedAmount
            default: kind = nil
            }
            if kind == nil {
                violations.add(field: "\(field).kind", "is required: PERCENT or FIXED_AMOUNT")
            } else if kind == .percent, !(1...100).contains(discount.value) {
                violations.add(field: "\(field).value", "must be 1 to 100 (percent)")
                valid = false
            } else if !(1...Self.priceRange.upperBound).contains(discount.value) {
                violations.add(field: "\(field).value", "must be between 1 and \(Self.priceRange.upperBound) minor units")
                valid = false
            }
            if valid, let kind { discounts.append(SellPageRecord.Discount(code: code, kind: kind, value: discount.value)) }
        }
        return discounts
    }

    private static func shipping(_ value: Int64, _ violations: inout FieldViolations) {
        if !Self.shippingRange.contains(value) {
            violations.add(field: "shipping_fee", "must be between 0 and \(Self.shippingRange.upperBound) minor units")
        }
    }

    private static func tax(_ value: Int32, _ violations: inout FieldViolations) {
        if !(0...10_000).contains(value) { violations.add(field: "tax_rate_bps", "must be between 0 and 10000 basis points") }
    }

    static func isSKU(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ".")
            }
    }

    static func isCode(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return (1...32).contains(bytes.count)
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
