import Foundation
import Logging
import PostgresNIO

/// The transactional outbox, delivered by the job queue.
///
/// An event is written to the service's `outbox` table in the transaction of the change it
/// describes, together with an `OutboxDelivery` job for it (`Outbox.enqueue`): the event exists
/// and will be delivered if and only if the change commits. The job delivers it with no
/// transaction open, then marks the row delivered. A failed delivery is retried with the job
/// queue's backoff; after `OutboxDelivery.maxAttempts` the job is discarded (dead) with every
/// attempt's error and the row stays undelivered, for an operator to retry. Delivery is at least
/// once (a crash between delivery and marking delivers again): consumers dedupe by event id.
///
/// Events with the same ordering key (an order's id) are delivered one at a time in the order
/// they were written (the job's sequence key): a failing event holds back the later events of its
/// key, not others.
///
/// The table (created by the service's migrations):
/// `outbox(id uuid primary key, seller_id uuid, topic text, payload bytea, created_at timestamptz,
///  attempts int, next_attempt_at timestamptz, delivered_at timestamptz, last_error text)`; its
/// row-level security admits every seller's rows to a transaction that sets `app.outbox_relay`.
public enum Outbox {
    /// Writes an event and its delivery job inside the caller's transaction.
    public static func enqueue(
        on connection: PostgresConnection,
        id: UUID = UUID(),
        sellerID: UUID,
        topic: String,
        payload: [UInt8],
        orderingKey: String? = nil,
        logger: Logger
    ) async throws {
        try await connection.query(
            "INSERT INTO outbox (id, seller_id, topic, payload) VALUES (\(id), \(sellerID), \(topic), \(Data(payload)))",
            logger: logger
        )
        try await Jobs.enqueue(
            OutboxDelivery.self, OutboxDelivery.Args(eventID: id),
            JobOptions(sellerID: sellerID, sequenceKey: orderingKey.map { "outbox:\($0)" }), on: connection, logger: logger)
    }

    /// An event for `enqueueMany`.
    public struct Event: Sendable {
        public var id: UUID
        public var sellerID: UUID
        public var topic: String
        public var payload: [UInt8]
        public var orderingKey: String?

        public init(id: UUID = UUID(), sellerID: UUID, topic: String, payload: [UInt8], orderingKey: String? = nil) {
            (self.id, self.sellerID, self.topic, self.payload, self.orderingKey) = (id, sellerID, topic, payload, orderingKey)
        }
    }

    /// Writes many events and their delivery jobs inside the caller's transaction, two
    /// statements whatever their number (a bulk import's). The jobs are inserted in the order of
    /// `events`, so events of one ordering key are delivered in that order, as `enqueue` does.
    public static func enqueueMany(_ events: [Event], on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO outbox (id, seller_id, topic, payload)
            SELECT e.id, e.seller_id, e.topic, decode(e.payload, 'base64')
            FROM unnest(\(events.map(\.id))::uuid[], \(events.map(\.sellerID))::uuid[], \(events.map(\.topic))::text[],
                        \(events.map { Data($0.payload).base64EncodedString() })::text[]) AS e(id, seller_id, topic, payload)
            """,
            logger: logger
        )
        let encoder = Jobs.encoder()
        let rows = try events.map { event in
            try Jobs.row(
                OutboxDelivery.self, OutboxDelivery.Args(eventID: event.id),
                JobOptions(sellerID: event.sellerID, sequenceKey: event.orderingKey.map { "outbox:\($0)" }), encoder: encoder)
        }
        let first = rows[0]
        try await connection.query(
            """
            INSERT INTO jobs (kind, queue, args, seller_id, priority, run_at, max_attempts, sequence_key)
            SELECT \(first.kind), \(first.queue), j.args::jsonb, j.seller_id, \(first.priority), now(), \(first.maxAttempts),
                   NULLIF(j.sequence_key, '')
            FROM unnest(\(rows.map(\.args))::text[], \(events.map(\.sellerID))::uuid[], \(rows.map { $0.sequenceKey ?? "" })::text[])
                WITH ORDINALITY AS j (args, seller_id, sequence_key, n)
            ORDER BY j.n
            """,
            logger: logger
        )
    }
}

/// Delivers one outbox event (see `Outbox`).
public struct OutboxDelivery: JobKind {
    /// Delivers one event; throws to retry later.
    public typealias Deliver = @Sendable (_ id: UUID, _ topic: String, _ payload: [UInt8]) async throws -> Void

    public struct Args: Codable, Sendable, Equatable {
        public var eventID: UUID
    }

    public static var name: String { "outbox.deliver" }
    public static var queue: String { "outbox" }
    /// With the backoff below, about six hours of retrying before the event is left to operators.
    public static var maxAttempts: Int { 30 }
    public static var backoff: JobBackoff { JobBackoff(base: .seconds(1), cap: .seconds(900)) }
    public static var timeout: Duration { .seconds(30) }

    let client: PostgresClient
    let deliver: Deliver

    public init(client: PostgresClient, deliver: @escaping Deliver) {
        self.client = client
        self.deliver = deliver
    }

    public func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let event = try await self.asRelay(job.logger) { connection -> (topic: String, payload: [UInt8], delivered: Bool)? in
            let rows = try await connection.query(
                "SELECT topic, payload, delivered_at IS NOT NULL FROM outbox WHERE id = \(job.args.eventID)", logger: job.logger)
            for try await (topic, payload, delivered) in rows.decode((String, Data, Bool).self) {
                return (topic: topic, payload: [UInt8](payload), delivered: delivered)
            }
            return nil
        }
        guard let event else { throw JobFailure.discard("outbox event \(job.args.eventID) does not exist") }
        guard !event.delivered else { return .completed }
        do {
            try await self.deliver(job.args.eventID, event.topic, event.payload)
        } catch {
            let message = String(String(describing: error).prefix(500))
            _ = try? await self.asRelay(job.logger) { connection in
                try await connection.query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = \(message) WHERE id = \(job.args.eventID)", logger: job.logger)
            }
            throw error
        }
        try await self.asRelay(job.logger) { connection in
            try await connection.query(
                "UPDATE outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = \(job.args.eventID)",
                logger: job.logger)
        }
        job.logger.info("outbox.delivered", metadata: ["outbox.id": "\(job.args.eventID)", "outbox.topic": "\(event.topic)"])
        return .completed
    }

    /// Runs `body` in a transaction that declares itself the relay: the outbox's row-level
    /// security admits every seller's rows to it (and only that table does).
    @discardableResult
    private func asRelay<Result: Sendable>(_ logger: Logger, _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await self.client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.outbox_relay', 'on', true)", logger: logger)
            return try await body(connection)
        }
    }
}
