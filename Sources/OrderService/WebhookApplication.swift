import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The job that applies one stored webhook event (`webhook_inbox`) to its order.
///
/// One transaction does all of it, under a transaction-scoped advisory lock on the event's
/// PaymentIntent and then the order's row lock: it reads the event, finds the order (the
/// metadata, or an earlier event of the same PaymentIntent), records the transaction the event
/// reports if the history admits it, and marks the event applied, ignored (with the reason) or
/// waiting. An event waits when it depends on one not yet here: a refund or a dispute before its
/// payment, a reinstatement before its dispute, or any event of a PaymentIntent no event has yet
/// tied to an order. Every event that records something puts the waiting events of its
/// PaymentIntent back on the queue, in the same transaction; the lock makes a waiting mark and
/// that look-up exclude each other, so no event waits for ever for one already applied. The
/// history's fold is commutative, so every arrival order ends in the same state.
struct WebhookApplication: JobKind {
    struct Args: Codable, Sendable, Equatable {
        var provider: String
        var eventID: String
    }

    static var name: String { "orders.webhook_apply" }
    static var queue: String { "webhooks" }
    static var maxAttempts: Int { 25 }
    static var backoff: JobBackoff { JobBackoff(base: .seconds(1), cap: .seconds(600)) }

    let db: PostgresClient

    /// Makes `webhook_inbox` visible to the rest of the caller's transaction.
    static func enterInbox(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT set_config('app.webhook_inbox', 'on', true)", logger: logger)
    }

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let logger = job.logger
        let outcome = try await self.db.withTransaction(logger: logger) { connection in
            try await Self.apply(job.args, on: connection, logger: logger)
        }
        logger.info(
            "webhook.applied",
            metadata: ["webhook.event": "\(job.args.eventID)", "webhook.outcome": "\(outcome.name)", "webhook.detail": "\(outcome.detail)"])
        return .completed
    }

    enum Outcome: Sendable, Equatable {
        case applied
        case waiting(String)
        case ignored(String)

        var name: String {
            switch self {
            case .applied: "applied"
            case .waiting: "waiting"
            case .ignored: "ignored"
            }
        }

        var detail: String {
            switch self {
            case .applied: ""
            case .waiting(let detail), .ignored(let detail): detail
            }
        }
    }

    static func apply(_ args: Args, on connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        try await Self.enterInbox(on: connection, logger: logger)
        let rows = try await connection.query(
            """
            SELECT body, outcome FROM webhook_inbox WHERE provider = \(args.provider) AND event_id = \(args.eventID)
            FOR UPDATE
            """,
            logger: logger
        )
        var stored: (Data?, String)?
        for try await row in rows.decode((Data?, String).self) { stored = row }
        guard let (body, state) = stored else { throw JobFailure.discard("webhook event \(args.eventID) is not in the inbox") }
        guard state == "queued" || state == "waiting", let body else { return .ignored("handled already") }

        let event: StripeEvent
        do {
            event = try StripeEvent(json: body)
        } catch {
            return try await Self.finish(args, .ignored("\(error)"), event: nil, on: connection, logger: logger)
        }
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtext(\(args.provider + ":" + event.paymentIntent)))", logger: logger)
        guard let (sellerID, orderID) = try await Self.owner(of: event, provider: args.provider, on: connection, logger: logger) else {
            return try await Self.finish(
                args, .waiting("no event has tied PaymentIntent \(event.paymentIntent) to an order yet"), event: event, on: connection,
                logger: logger)
        }
        try await connection.setSeller(sellerID, logger: logger)
        let outcome: Outcome
        do {
            let locked = try await OrderStore.lock(orderID, sellerID: sellerID, on: connection, logger: logger)
            let history = try await OrderStore.history(of: locked, sellerID: sellerID, on: connection, logger: logger)
            if let request = event.request(given: history) {
                switch try await OrderStore.attempt(
                    request, orderID: orderID, sellerID: sellerID, source: args.provider, on: connection, logger: logger)
                {
                case .recorded: outcome = .applied
                case .refused(let refusal, let history):
                    outcome = event.awaitsEarlierEvent(history) ? .waiting(refusal.message) : .ignored(refusal.message)
                }
            } else {
                outcome = .ignored("the order's history already holds what this event reports")
            }
        } catch let error as RPCError where error.code == .notFound {
            outcome = .ignored("the seller has no order \(orderID)")
        }
        return try await Self.finish(
            args, outcome, event: event, seller: (sellerID, orderID), on: connection, logger: logger)
    }

    /// The order the event is about: from its metadata, or from an earlier event of the same
    /// PaymentIntent that was tied to one.
    private static func owner(of event: StripeEvent, provider: String, on connection: PostgresConnection, logger: Logger) async throws
        -> (UUID, UUID)?
    {
        if let sellerID = event.sellerID, let orderID = event.orderID { return (sellerID, orderID) }
        let rows = try await connection.query(
            """
            SELECT seller_id, order_id FROM webhook_inbox
            WHERE provider = \(provider) AND payment_ref = \(event.paymentIntent) AND seller_id IS NOT NULL AND order_id IS NOT NULL
            LIMIT 1
            """,
            logger: logger
        )
        for try await row in rows.decode((UUID, UUID).self) { return row }
        return nil
    }

    /// Records how the event ended; an event that changed the order requeues the events of its
    /// PaymentIntent that were waiting.
    private static func finish(
        _ args: Args, _ outcome: Outcome, event: StripeEvent?, seller: (UUID, UUID)? = nil, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Outcome {
        try await connection.query(
            """
            UPDATE webhook_inbox SET outcome = \(outcome.name), detail = \(String(outcome.detail.prefix(500))),
                payment_ref = \(event?.paymentIntent ?? ""), seller_id = \(seller?.0), order_id = \(seller?.1),
                handled_at = now()
            WHERE provider = \(args.provider) AND event_id = \(args.eventID)
            """,
            logger: logger
        )
        guard outcome == .applied, let event else { return outcome }
        let waiting = try await connection.query(
            """
            UPDATE webhook_inbox SET outcome = 'queued'
            WHERE provider = \(args.provider) AND payment_ref = \(event.paymentIntent) AND outcome = 'waiting'
            RETURNING event_id
            """,
            logger: logger
        )
        var requeued: [Args] = []
        for try await id in waiting.decode(String.self) { requeued.append(Args(provider: args.provider, eventID: id)) }
        if !requeued.isEmpty {
            _ = try await Jobs.enqueueMany(Self.self, requeued, on: connection, logger: logger)
            logger.info("webhook.requeued", metadata: ["webhook.event": "\(args.eventID)", "webhook.requeued": "\(requeued.count)"])
        }
        return outcome
    }
}

/// The hourly job that deletes idempotency keys past their 24 hours (`OrderStore.pruneIdempotencyKeys`).
struct IdempotencyPrune: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static var name: String { "orders.idempotency_prune" }
    static var queue: String { "maintenance" }
    static var maxAttempts: Int { 3 }

    let store: OrderStore

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let deleted = try await self.store.pruneIdempotencyKeys(logger: job.logger)
        job.logger.info("idempotency.pruned", metadata: ["idempotency.deleted": "\(deleted)"])
        return .completed
    }
}
