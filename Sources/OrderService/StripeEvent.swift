import Foundation

/// What a Stripe event means for an order: the transaction it reports, the payment it concerns
/// and, when the object carries PixEcom's metadata, whose order it is.
///
/// Objects and fields read (Stripe's API reference):
/// - `payment_intent.amount_capturable_updated`: PaymentIntent `id`, `amount_capturable`: an
///   authorization.
/// - `payment_intent.succeeded`: PaymentIntent `id`, `amount_received`: a capture (a sale when
///   nothing was authorized first).
/// - `payment_intent.canceled`: PaymentIntent `id`: a void.
/// - `charge.refunded`: Charge `id`, `payment_intent`, `amount_refunded` (cumulative over the
///   charge's refunds).
/// - `charge.dispute.funds_withdrawn` / `charge.dispute.funds_reinstated`: Dispute `id`,
///   `amount`, `payment_intent`: a chargeback and its reversal.
/// PixEcom puts `pixecom_seller_id` and `pixecom_order_id` in the PaymentIntent's metadata; a
/// dispute carries none, so its order is found through its PaymentIntent.
struct StripeEvent: Sendable, Hashable {
    enum Action: Sendable, Hashable {
        case authorized(amount: Int64)
        case succeeded(amount: Int64)
        case canceled
        /// The charge's refunds so far, in total.
        case refunded(charge: String, cumulative: Int64)
        case disputeFundsWithdrawn(dispute: String, amount: Int64)
        case disputeFundsReinstated(dispute: String)
    }

    static let handledTypes: Set<String> = [
        "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.canceled", "charge.refunded",
        "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
    ]

    var id: String
    var type: String
    var action: Action
    /// The PaymentIntent id.
    var paymentIntent: String
    var sellerID: UUID?
    var orderID: UUID?

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    private struct Wire: Decodable {
        struct Payload: Decodable {
            struct Object: Decodable {
                var id: String?
                var amount: Int64?
                var amount_capturable: Int64?
                var amount_received: Int64?
                var amount_refunded: Int64?
                var payment_intent: String?
                var metadata: [String: String]?
            }

            var object: Object
        }

        var id: String
        var type: String
        var data: Payload
    }

    init(json: Data) throws {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: json)
        } catch {
            throw Malformed(description: "not a Stripe event with data.object: \(error)")
        }
        let object = wire.data.object
        func required<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw Malformed(description: "\(wire.type) without data.object.\(field)") }
            return value
        }
        func amount(_ value: Int64?, _ field: String) throws -> Int64 {
            let value = try required(value, field)
            guard value >= 0 else { throw Malformed(description: "data.object.\(field) is negative") }
            return value
        }
        let objectID = try required(object.id, "id")
        self.id = wire.id
        self.type = wire.type
        switch wire.type {
        case "payment_intent.amount_capturable_updated":
            self.action = .authorized(amount: try amount(object.amount_capturable, "amount_capturable"))
            self.paymentIntent = objectID
        case "payment_intent.succeeded":
            self.action = .succeeded(amount: try amount(object.amount_received, "amount_received"))
            self.paymentIntent = objectID
        case "payment_intent.canceled":
            self.action = .canceled
            self.paymentIntent = objectID
        case "charge.refunded":
            self.action = .refunded(charge: objectID, cumulative: try amount(object.amount_refunded, "amount_refunded"))
            self.paymentIntent = try required(object.payment_intent, "payment_intent")
        case "charge.dispute.funds_withdrawn":
            self.action = .disputeFundsWithdrawn(dispute: objectID, amount: try amount(object.amount, "amount"))
            self.paymentIntent = try required(object.payment_intent, "payment_intent")
        case "charge.dispute.funds_reinstated":
            self.action = .disputeFundsReinstated(dispute: objectID)
            self.paymentIntent = try required(object.payment_intent, "payment_intent")
        default:
            throw Malformed(description: "\(wire.type) is not an event type PixEcom acts on")
        }
        let metadata = object.metadata ?? [:]
        self.sellerID = metadata["pixecom_seller_id"].flatMap(UUID.init(uuidString:))
        self.orderID = metadata["pixecom_order_id"].flatMap(UUID.init(uuidString:))
    }

    /// The transaction this event asks the order's history to record, given that history.
    /// nil: the history already holds all the event reports (a charge's refunds up to its
    /// cumulative amount).
    func request(given history: OrderHistory) -> OrderHistory.Request? {
        switch self.action {
        case .authorized(let amount): return .authorize(amount: amount, reference: self.paymentIntent)
        case .succeeded(let amount): return .capture(amount: amount, reference: self.paymentIntent)
        case .canceled: return .void(reference: self.paymentIntent)
        case .refunded(let charge, let cumulative):
            // This charge's refunds are recorded as "<charge>/<cumulative after it>": what is
            // already recorded is the largest such cumulative, and only the rest is new, so reports
            // arriving in any order add up to the latest cumulative.
            let prefix = charge + "/"
            let recorded =
                history.entries.filter { $0.kind == .refunded && $0.reference.hasPrefix(prefix) }
                .compactMap { Int64($0.reference.dropFirst(prefix.count)) }.max() ?? 0
            guard cumulative > recorded else { return nil }
            return .refund(amount: cumulative - recorded, reference: prefix + String(cumulative), note: "")
        case .disputeFundsWithdrawn(let dispute, let amount): return .chargeback(amount: amount, reference: dispute)
        case .disputeFundsReinstated(let dispute): return .reverseChargeback(reference: dispute)
        }
    }

    /// Whether a refusal of this event's transaction means an event it depends on has not come
    /// yet (the event waits for it) rather than that it can never apply.
    func awaitsEarlierEvent(_ history: OrderHistory) -> Bool {
        let state = history.state
        switch self.action {
        case .refunded, .disputeFundsWithdrawn: return state.captured == 0
        case .disputeFundsReinstated(let dispute):
            return !history.entries.contains { $0.kind == .chargedBack && $0.reference == dispute }
        case .authorized, .succeeded, .canceled: return false
        }
    }
}
