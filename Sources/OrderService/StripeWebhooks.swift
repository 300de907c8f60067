import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// Stripe webhook deliveries relayed by the edge. The signature is checked against the raw body;
/// an event of a type PixEcom acts on is stored in `webhook_inbox` with the job that applies it
/// (`WebhookApplication`), in one transaction, and the call answers at once. An event id is
/// stored once: a redelivery is answered "duplicate" and changes nothing.
struct StripeWebhooks: Sendable {
    /// nil when `PIXECOM_STRIPE_WEBHOOK_SECRETS` is not set: deliveries are refused.
    let signature: StripeSignature?
    let db: PostgresClient

    /// The envelope every Stripe event has; the job reads the rest.
    private struct Envelope: Decodable {
        var id: String
        var type: String
    }

    func receive(_ delivery: Pixecom_Orders_V1_WebhookDelivery, logger: Logger, now: Date = Date()) async throws
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
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
        } catch {
            throw RPCError.invalidArgument(field: "body", "is not a Stripe event (id, type, data.object)")
        }
        guard (1...255).contains(envelope.id.utf8.count), !envelope.id.utf8.contains(0) else {
            throw RPCError.invalidArgument(field: "body.id", "must be 1 to 255 characters")
        }
        var result = Pixecom_Orders_V1_WebhookResult()
        result.eventID = envelope.id
        guard StripeEvent.handledTypes.contains(envelope.type) else {
            result.outcome = "ignored"
            logger.info("webhook.ignored", metadata: ["webhook.event": "\(envelope.id)", "webhook.type": "\(envelope.type)"])
            return result
        }
        let stored = try await self.db.withTransaction(logger: logger) { connection in
            try await WebhookApplication.enterInbox(on: connection, logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO webhook_inbox (provider, event_id, event_type, body)
                VALUES ('stripe', \(envelope.id), \(envelope.type), \(Data(body)))
                ON CONFLICT (provider, event_id) DO NOTHING
                RETURNING event_id
                """,
                logger: logger
            )
            var isNew = false
            for try await _ in rows.decode(String.self) { isNew = true }
            if isNew {
                _ = try await Jobs.enqueue(
                    WebhookApplication.self, WebhookApplication.Args(provider: "stripe", eventID: envelope.id), on: connection,
                    logger: logger)
            }
            return isNew
        }
        result.outcome = stored ? "queued" : "duplicate"
        logger.info(
            "webhook.received",
            metadata: ["webhook.event": "\(envelope.id)", "webhook.type": "\(envelope.type)", "webhook.outcome": "\(result.outcome)"])
        return result
    }
}
