import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// Order revenue events for StatsService, through the transactional outbox.
///
/// Contract: each outbox row (topic `order.paid` or `order.refunded`) holds a serialized
/// `Pixecom_Stats_V1_OrderEvent` whose `event_id` is the outbox row id (lower-case UUID), so every
/// redelivery of the row carries the same id and StatsService applies it at most once. An
/// order's events are delivered in the order they were written (the order id is the ordering key).
enum StatsEventPublisher {
    static let paidTopic = "order.paid"
    static let refundedTopic = "order.refunded"
    static let deliveryTimeout: Duration = .seconds(5)

    enum Kind: Sendable {
        case paid, refunded
    }

    /// Writes the event for a change made in the same transaction on `connection`.
    static func enqueue(
        _ kind: Kind,
        amount: Int64,
        order: LockedOrder,
        attributedDay: String,
        saleAt: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let eventID = UUID()
        var event = Pixecom_Stats_V1_OrderEvent()
        event.eventID = eventID.uuidString.lowercased()
        event.sellerID = sellerID.uuidString.lowercased()
        event.orderID = order.id.uuidString.lowercased()
        event.kind = kind == .paid ? .paid : .refunded
        event.amount = amount
        event.currency = order.currency
        event.campaignID = order.utmCampaign
        event.adID = order.utmContent
        event.attributedDate = attributedDay
        event.saleAt = saleAt
        event.occurredAt = RequestValidation.timestamp(Date())
        let topic = kind == .paid ? Self.paidTopic : Self.refundedTopic
        try await Outbox.enqueue(
            on: connection,
            id: eventID,
            sellerID: sellerID,
            topic: topic,
            payload: try event.serializedBytes(),
            orderingKey: order.id.uuidString.lowercased(),
            logger: logger
        )
        logger.info(
            "order.event.enqueued",
            metadata: ["seller.id": "\(sellerID)", "order.id": "\(order.id)", "event.id": "\(eventID)", "outbox.topic": "\(topic)"]
        )
    }

    /// The job that delivers outbox events to StatsService `RecordOrderEvent`. Events stay
    /// pending (retried with the job queue's backoff, an order's events in order) while
    /// StatsService cannot be reached or refuses them.
    static func delivery(db: PostgresClient, stats: RPCClient, logger: Logger) -> OutboxDelivery {
        OutboxDelivery(client: db) { id, topic, payload in
            guard topic == Self.paidTopic || topic == Self.refundedTopic else {
                logger.error("order.event.unknown_topic", metadata: ["outbox.id": "\(id)", "outbox.topic": "\(topic)"])
                throw RPCError(.internal, "outbox row has unknown topic \(topic)")
            }
            let event: Pixecom_Stats_V1_OrderEvent
            do {
                event = try Pixecom_Stats_V1_OrderEvent(serializedBytes: payload)
            } catch {
                logger.error("order.event.undecodable", metadata: ["outbox.id": "\(id)", "outbox.topic": "\(topic)"])
                throw error
            }
            let response = try await stats.unary(
                StatsMethods.recordOrderEvent,
                event,
                as: Pixecom_Stats_V1_RecordOrderEventResponse.self,
                timeout: Self.deliveryTimeout
            )
            logger.info(
                "order.event.delivered",
                metadata: ["outbox.id": "\(id)", "outbox.topic": "\(topic)", "event.applied": "\(response.applied)"]
            )
        }
    }
}
