import Foundation
import PixEcomProtos
import ServiceKit

/// Where an order's money stands. Stored as its name in `orders.financial_status`.
enum FinancialStatus: String, Sendable, CaseIterable {
    case pending = "PENDING"
    case authorized = "AUTHORIZED"
    case paid = "PAID"
    case partiallyRefunded = "PARTIALLY_REFUNDED"
    case refunded = "REFUNDED"
    case voided = "VOIDED"
    case chargedBack = "CHARGED_BACK"

    var proto: Pixecom_Orders_V1_FinancialStatus {
        switch self {
        case .pending: .pending
        case .authorized: .authorized
        case .paid: .paid
        case .partiallyRefunded: .partiallyRefunded
        case .refunded: .refunded
        case .voided: .voided
        case .chargedBack: .chargedBack
        }
    }
}

/// The order's own life. Stored as its name in `orders.order_status`.
enum OrderStatus: String, Sendable, CaseIterable {
    case open = "OPEN"
    case cancelled = "CANCELLED"
    case closed = "CLOSED"

    var proto: Pixecom_Orders_V1_OrderStatus {
        switch self {
        case .open: .open
        case .cancelled: .cancelled
        case .closed: .closed
        }
    }
}

/// Where the order's items stand (`OrderHistory.State.fulfillmentStatus`).
enum FulfillmentStatus: String, Sendable, CaseIterable {
    case unfulfilled = "UNFULFILLED"
    case partiallyFulfilled = "PARTIALLY_FULFILLED"
    case fulfilled = "FULFILLED"
    case returned = "RETURNED"

    init?(_ proto: Pixecom_Orders_V1_FulfillmentStatus) {
        switch proto {
        case .unfulfilled: self = .unfulfilled
        case .partiallyFulfilled: self = .partiallyFulfilled
        case .fulfilled: self = .fulfilled
        case .returned: self = .returned
        default: return nil
        }
    }

    var proto: Pixecom_Orders_V1_FulfillmentStatus {
        switch self {
        case .unfulfilled: .unfulfilled
        case .partiallyFulfilled: .partiallyFulfilled
        case .fulfilled: .fulfilled
        case .returned: .returned
        }
    }
}

/// Shopify's cancel reasons, stored lower-case in the history.
enum CancelReason: String, Sendable, CaseIterable {
    case customer, fraud, inventory, declined, other

    init?(_ proto: Pixecom_Orders_V1_CancelReason) {
        switch proto {
        case .customer: self = .customer
        case .fraud: self = .fraud
        case .inventory: self = .inventory
        case .declined: self = .declined
        case .other: self = .other
        default: return nil
        }
    }

    var proto: Pixecom_Orders_V1_CancelReason {
        switch self {
        case .customer: .customer
        case .fraud: .fraud
        case .inventory: .inventory
        case .declined: .declined
        case .other: .other
        }
    }
}

/// Attribution tags captured with the order, stored as given.
struct UtmTags: Sendable, Hashable {
    var source = ""
    var medium = ""
    /// Carries the campaign id.
    var campaign = ""
    /// Carries the ad id.
    var content = ""
    var term = ""

    var proto: Pixecom_Orders_V1_Utm {
        var utm = Pixecom_Orders_V1_Utm()
        utm.source = self.source
        utm.medium = self.medium
        utm.campaign = self.campaign
        utm.content = self.content
        utm.term = self.term
        return utm
    }
}

struct LineItemRecord: Sendable, Hashable {
    var sku: String
    var title: String
    var quantity: Int32
    /// Minor units of the order currency.
    var unitPrice: Int64
    /// Projections of the history: units in uncancelled fulfillments, and units returned.
    var fulfilled: Int32 = 0
    var returned: Int32 = 0

    var proto: Pixecom_Orders_V1_LineItem {
        var item = Pixecom_Orders_V1_LineItem()
        item.sku = self.sku
        item.title = self.title
        item.quantity = self.quantity
        item.unitPrice = self.unitPrice
        item.fulfilledQuantity = self.fulfilled
        item.returnedQuantity = self.returned
        return item
    }
}

/// One entry of an order's append-only history, as stored.
struct OrderEventRecord: Sendable, Hashable {
    var id: UUID
    var entry: OrderHistory.Entry
    /// "api" or the webhook provider ("stripe").
    var source: String

    var proto: Pixecom_Orders_V1_OrderEvent {
        var event = Pixecom_Orders_V1_OrderEvent()
        event.id = self.id.uuidString.lowercased()
        event.type = self.entry.kind.rawValue
        event.amount = self.entry.amount
        event.createTime = RequestValidation.timestamp(self.entry.at)
        event.reference = self.entry.reference
        event.source = self.source
        event.reason = self.entry.reason
        event.lineQuantities = self.entry.quantities
        return event
    }
}

/// An order as stored, with its line items and history.
struct OrderRecord: Sendable, Hashable {
    var id: UUID
    var currency: String
    var total: Int64
    var refunded: Int64
    var authorized: Int64
    var captured: Int64
    var chargedBack: Int64
    var orderStatus: OrderStatus
    var cancelReason: String
    var financialStatus: FinancialStatus
    var fulfillmentStatus: FulfillmentStatus
    var utm: UtmTags
    var createdAt: Date
    var paidAt: Date?
    var lineItems: [LineItemRecord] = []
    var events: [OrderEventRecord] = []
    var checkout: Checkout?

    /// The amounts' parts and what a storefront checkout captured (empty for API orders).
    struct Checkout: Sendable, Hashable {
        var sellPageID: UUID?
        var subtotal: Int64
        var discount: Int64
        var shipping: Int64
        var tax: Int64
        var contact: CheckoutContact
        var address: ShippingAddress
        var fbclid: String
        var fbc: String
        var fbp: String
        var landingURL: String
    }

    var proto: Pixecom_Orders_V1_Order {
        var order = Pixecom_Orders_V1_Order()
        order.id = self.id.uuidString.lowercased()
        order.currency = self.currency
        order.lineItems = self.lineItems.map(\.proto)
        order.total = self.total
        order.refunded = self.refunded
        order.financialStatus = self.financialStatus.proto
        order.fulfillmentStatus = self.fulfillmentStatus.proto
        order.utm = self.utm.proto
        order.createTime = RequestValidation.timestamp(self.createdAt)
        order.paidTime = self.paidAt.map(RequestValidation.timestamp) ?? ""
        order.events = self.events.map(\.proto)
        order.status = self.orderStatus.proto
        order.authorized = self.authorized
        order.captured = self.captured
        order.chargedBack = self.chargedBack
        order.cancelReason = CancelReason(rawValue: self.cancelReason)?.proto ?? .unspecified
        if let checkout = self.checkout {
            order.sellPageID = checkout.sellPageID?.uuidString.lowercased() ?? ""
            order.subtotal = checkout.subtotal
            order.discount = checkout.discount
            order.shipping = checkout.shipping
            order.tax = checkout.tax
            if checkout.sellPageID != nil {
                order.customer = Pixecom_Orders_V1_Customer.with {
                    $0.email = checkout.contact.email
                    $0.phone = checkout.contact.phone
                    $0.name = checkout.contact.name
                }
                order.shippingAddress = Pixecom_Orders_V1_Address.with {
                    $0.name = checkout.address.name
                    $0.line1 = checkout.address.line1
                    $0.line2 = checkout.address.line2
                    $0.city = checkout.address.city
                    $0.region = checkout.address.region
                    $0.postalCode = checkout.address.postalCode
                    $0.country = checkout.address.country
                }
            }
            order.fbclid = checkout.fbclid
            order.fbc = checkout.fbc
            order.fbp = checkout.fbp
            order.landingURL = checkout.landingURL
        }
        return order
    }
}
