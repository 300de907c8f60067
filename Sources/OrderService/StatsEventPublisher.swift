import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// Order revenue events for StatsService, through the transactional outbox.
///
/// Contract: each outbox row (one of `topics`) holds a serialized
/// `Pixecom_Stats_V1_OrderEvent` whose `event_id` is the outbox row id (lower-case UUID), so every
/// redelivery of the row carries the same id and StatsService applies it at most once. An
/// order's events are delivered in the order they were written (the order id is the ordering key).
enum StatsEventPublisher {
    static let deliveryTimeout: Duration = .seconds(5)

    /// The money movements StatsService counts, one outbox topic each.
    enum Kind: String, Sendable, CaseIterable {
        case paid = "order.paid"
        case refunded = "order.refunded"
        case chargedBack = "order.charged_back"
        case chargebackReversed = "order.chargeback_reversed"

        /// The movement a history entry makes, if it moves money to or from the seller.
        /// Authorizations and voids hold and release funds; no money changes hands.
        init?(_ kind: OrderHistory.Kind) {
            switch kind {
            case .captured: self = .paid
            case .refunded: self = .refunded
            case .chargedBack: self = .chargedBack
            case .chargebackReversed: self = .chargebackReversed
            case .created, .authorized, .voided, .cancelled, .closed, .fulfilled, .fulfillmentCancelled, .returned: return nil
            }
        }

        var proto: Pixecom_Stats_V1_OrderEventKind {
            switch self {
            case .paid: .paid
            case .refunded: .refunded
            case .chargedBack: .chargedBack
            case .chargebackReversed: .chargebackReversed
            }
        }
    }

    static var topics: Set<String> { Set(Kind.allCases.map(\.rawValue)) }

    /// Writes the event for a change made in the same transaction on `connection`.
    static func enqueue(
        _ kind: Kind,
        amount: Int64,
        order: LockedOrder,
        saleAt: Date,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let event = try Self.event(kind, amount: amount, order: order, saleAt: saleAt, sellerID: sellerID)
        try await Outbox.enqueue(
            on: connection, id: event.id, sellerID: sellerID, topic: event.topic, payload: event.payload,
            orderingKey: event.orderingKey, logger: logger)
        logger.info(
            "order.event.enqueued",
            metadata: ["seller.id": "\(sellerID)", "order.id": "\(order.id)", "event.id": "\(event.id)", "outbox.topic": "\(event.topic)"]
        )
    }

    /// The outbox event of a money movement of `order` (its id the event's id, the order's id its
    /// ordering key).
    static func event(_ kind: Kind, amount: Int64, order: LockedOrder, saleAt: Date, sellerID: UUID) throws -> Outbox.Event {
        let eventID = UUID()
        var event = Pixecom_Stats_V1_OrderEvent()
        event.eventID = eventID.uuidString.lowercased()
        event.sellerID = sellerID.uuidString.lowercased()
        event.orderID = order.id.uuidString.lowercased()
        event.kind = kind.proto
        event.amount = amount
        event.currency = order.currency
        event.campaignID = order.utmCampaign
        event.adID = order.utmContent
        event.sellPageID = order.sellPageID?.uuidString.lowercased() ?? ""
        event.attributedDate = RequestValidation.dayText(saleAt)
        event.saleAt = RequestValidation.timestamp(saleAt)
        event.occurredAt = RequestValidation.timestamp(Date())
        return Outbox.Event(
            id: eventID, sellerID: sellerID, topic: kind.rawValue, payload: try event.serializedBytes(),
            orderingKey: order.id.uuidString.lowercased())
    }

    /// The job that delivers outbox events to StatsService `RecordOrderEvent`. Events stay
    /// pending (retried with the job queue's backoff, an order's events in order) while
    /// StatsService cannot be reached or refuses them.
    static func delivery(db: PostgresClient, stats: RPCClient, logger: Logger) -> OutboxDelivery {
        OutboxDelivery(client: db) { id, topic, payload in
            guard Self.topics.contains(topic) else {
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
