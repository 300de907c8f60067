import Foundation
import PixEcomProtos
import ServiceKit

/// Where an order's money stands. Stored as its name in `orders.financial_status`.
enum FinancialStatus: String, Sendable {
    case pending = "PENDING"
    case paid = "PAID"
    case partiallyRefunded = "PARTIALLY_REFUNDED"
    case refunded = "REFUNDED"

    var proto: Pixecom_Orders_V1_FinancialStatus {
        switch self {
        case .pending: .pending
        case .paid: .paid
        case .partiallyRefunded: .partiallyRefunded
        case .refunded: .refunded
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

    var proto: Pixecom_Orders_V1_LineItem {
        var item = Pixecom_Orders_V1_LineItem()
        item.sku = self.sku
        item.title = self.title
        item.quantity = self.quantity
        item.unitPrice = self.unitPrice
        return item
    }
}

/// One entry of an order's append-only history.
struct OrderEventRecord: Sendable, Hashable {
    enum Kind: String, Sendable {
        case created, paid, refunded
    }

    var id: UUID
    var type: String
    var amount: Int64
    var createdAt: Date

    var proto: Pixecom_Orders_V1_OrderEvent {
        var event = Pixecom_Orders_V1_OrderEvent()
        event.id = self.id.uuidString.lowercased()
        event.type = self.type
        event.amount = self.amount
        event.createTime = RequestValidation.timestamp(self.createdAt)
        return event
    }
}

/// An order as stored, with its line items and history.
struct OrderRecord: Sendable, Hashable {
    var id: UUID
    var currency: String
    var total: Int64
    var refunded: Int64
    var financialStatus: FinancialStatus
    var fulfillmentStatus: String
    var utm: UtmTags
    var createdAt: Date
    var paidAt: Date?
    var lineItems: [LineItemRecord] = []
    var events: [OrderEventRecord] = []

    var proto: Pixecom_Orders_V1_Order {
        var order = Pixecom_Orders_V1_Order()
        order.id = self.id.uuidString.lowercased()
        order.currency = self.currency
        order.lineItems = self.lineItems.map(\.proto)
        order.total = self.total
        order.refunded = self.refunded
        order.financialStatus = self.financialStatus.proto
        order.fulfillmentStatus = self.fulfillmentStatus == "FULFILLED" ? .fulfilled : .unfulfilled
        order.utm = self.utm.proto
        order.createTime = RequestValidation.timestamp(self.createdAt)
        order.paidTime = self.paidAt.map(RequestValidation.timestamp) ?? ""
        order.events = self.events.map(\.proto)
        return order
    }
}
