import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// Stripe webhook deliveries relayed by the edge: the signature is checked against the raw body,
/// then `payment_intent.succeeded` marks the order paid and `charge.refunded` brings the order's
/// refunded amount up to the charge's cumulative `amount_refunded`. Each event id is applied at
/// most once, in the same transaction as its effect; events may come in any order (a refund
/// before the payment is recorded as ignored and Stripe's later `charge.refunded` carries the
/// full cumulative amount). The order and seller come from the PaymentIntent's metadata
/// (`pixecom_order_id`, `pixecom_seller_id`), which PixEcom sets when it creates it.
struct StripeWebhooks: Sendable {
    /// nil when `PIXECOM_STRIPE_WEBHOOK_SECRETS` is not set: deliveries are refused.
    let signature: StripeSignature?
    let db: PostgresClient

    private enum Action {
        case paid
        case refunded(cumulative: Int64)
    }

    private struct Event: Decodable {
        struct Payload: Decodable {
            struct Object: Decodable {
                var amount_refunded: Int64?
                var metadata: [String: String]?
            }

            var object: Object
        }

        var id: String
        var type: String
        var data: Payload
    }

    func handle(_ delivery: Pixecom_Orders_V1_WebhookDelivery, logger: Logger, now: Date = Date()) async throws
        -> Pixecom_Orders_V1_WebhookResult
    {
        guard delivery.provider == "stripe" else {
            throw RPCError.invalidArgument(field: "provider", "must be stripe, got \"\(delivery.provider.prefix(32))\"")
        }
        guard let signature else {
            throw RPCError(.failedPrecondition, "Stripe webhooks are not configured here (PIXECOM_STRIPE_WEBHOOK_SECRETS)")
        }
        let body = [UInt8](delivery.body)
        do {
            try signature.verify(header: delivery.headers["stripe-signature"], body: body, now: now)
        } catch {
            logger.warning("webhook.signature.refused", metadata: ["webhook.provider": "stripe", "error": "\(error)"])
            throw RPCError(.unauthenticated, "Stripe-Signature: \(error)")
        }
        let event: Event
        do {
            event = try JSONDecoder().decode(Event.self, from: Data(body))
        } catch {
            throw RPCError.invalidArgument(field: "body", "is not a Stripe event (id, type, data.object)")
        }
        var result = Pixecom_Orders_V1_WebhookResult()
        result.eventID = event.id
        let action: Action
        switch event.type {
        case "payment_intent.succeeded": action = .paid
        case "charge.refunded": action = .refunded(cumulative: max(0, event.data.object.amount_refunded ?? 0))
        default:
            result.outcome = "ignored"
            return result
        }
        let metadata = event.data.object.metadata ?? [:]
        guard let sellerID = metadata["pixecom_seller_id"].flatMap(UUID.init(uuidString:)),
            let orderID = metadata["pixecom_order_id"].flatMap(UUID.init(uuidString:))
        else {
            logger.info("webhook.ignored", metadata: ["webhook.event": "\(event.id)", "webhook.reason": "no PixEcom order in metadata"])
            result.outcome = "ignored"
            return result
        }
        result.outcome = try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.apply(action, event: event, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
        }
        logger.info(
            "webhook.handled",
            metadata: ["webhook.event": "\(event.id)", "webhook.type": "\(event.type)", "webhook.outcome": "\(result.outcome)"])
        return result
    }

    private static func apply(
        _ action: Action, event: Event, orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> String {
        let claimed = try await connection.query(
            """
            INSERT INTO webhook_events (seller_id, provider, event_id, event_type, order_id)
            VALUES (\(sellerID), 'stripe', \(event.id), \(event.type), \(orderID))
            ON CONFLICT (provider, event_id) DO NOTHING
            RETURNING event_id
            """,
            logger: logger
        )
        var isNew = false
        for try await _ in claimed.decode(String.self) { isNew = true }
        guard isNew else { return "duplicate" }
        let outcome: String
        do {
            let order = try await OrderStore.lock(orderID, sellerID: sellerID, on: connection, logger: logger)
            switch action {
            case .paid where order.status == .pending:
                _ = try await OrderStore.markPaid(orderID, sellerID: sellerID, on: connection, logger: logger)
                outcome = "applied"
            case .refunded(let cumulative)
            where (order.status == .paid || order.status == .partiallyRefunded) && cumulative > order.refunded:
                let amount = min(cumulative, order.total) - order.refunded
                _ = try await OrderStore.refund(orderID, amount: amount, sellerID: sellerID, on: connection, logger: logger)
                outcome = "applied"
            default:
                // Already paid, refunded as far, or a refund of an unpaid order: nothing to do.
                outcome = "ignored"
            }
        } catch let error as RPCError where error.code == .notFound {
            outcome = "ignored"
        }
        try await connection.query(
            "UPDATE webhook_events SET outcome = \(outcome) WHERE provider = 'stripe' AND event_id = \(event.id)",
            logger: logger
        )
        return outcome
    }
}
