import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Delivers events written to a service's `outbox` table, at least once, with backoff.
///
/// Events are written by the service in the same transaction as the change they describe (see
/// `Outbox.enqueue`). The relay claims due rows with `FOR UPDATE SKIP LOCKED` and, in the same
/// short transaction, pushes their next attempt one lease ahead; it delivers with no transaction
/// open and no row locked (a slow consumer must not hold pool connections), then marks each row
/// delivered, or schedules its retry, in another short transaction. Any number of replicas may
/// run relays: a claimed row is not due again until its lease ends, so it is not delivered twice
/// at the same time unless a delivery outlasts the lease. A crash between delivery and marking
/// means a second delivery once the lease ends: consumers dedupe by event id.
///
/// The table (created by the service's migrations):
/// `outbox(id uuid primary key, seller_id uuid, topic text, payload bytea, created_at timestamptz,
///  attempts int, next_attempt_at timestamptz, delivered_at timestamptz, last_error text)`.
public struct OutboxRelay: Service {
    /// Delivers one event; throws to retry later.
    public typealias Deliver = @Sendable (_ id: UUID, _ topic: String, _ payload: [UInt8]) async throws -> Void

    private let client: PostgresClient
    private let deliver: Deliver
    private let logger: Logger
    private let pollInterval: Duration
    private let batchSize: Int

    public init(
        client: PostgresClient,
        logger: Logger,
        pollInterval: Duration = .milliseconds(200),
        batchSize: Int = 50,
        deliver: @escaping Deliver
    ) {
        self.client = client
        self.logger = logger
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        self.deliver = deliver
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var delivered = 0
            do {
                delivered = try await self.relayBatch()
            } catch {
                self.logger.warning("outbox.relay.failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            if delivered < self.batchSize {
                try? await Task.sleep(for: self.pollInterval)
            }
        }
    }

    /// How long a claimed row waits before another relay may claim it again: longer than a
    /// delivery takes (the RPC deadline), so only a crashed relay's rows come back.
    static let lease: Duration = .seconds(60)

    /// Delivers one batch of due events; returns how many were attempted.
    @discardableResult
    public func relayBatch() async throws -> Int {
        let leaseSeconds = Double(Self.lease.components.seconds)
        let claimed = try await self.asRelay { connection in
            let rows = try await connection.query(
                """
                UPDATE outbox SET next_attempt_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE id IN (
                    SELECT id FROM outbox
                    WHERE delivered_at IS NULL AND next_attempt_at <= now()
                    ORDER BY created_at
                    LIMIT \(self.batchSize)
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id, topic, payload, attempts, created_at
                """,
                logger: self.logger
            )
            var claimed: [(id: UUID, topic: String, payload: [UInt8], attempts: Int, createdAt: Date)] = []
            for try await (id, topic, payload, attempts, createdAt) in rows.decode((UUID, String, Data, Int, Date).self) {
                claimed.append((id, topic, [UInt8](payload), attempts, createdAt))
            }
            return claimed.sorted { $0.createdAt < $1.createdAt }
        }
        for event in claimed {
            do {
                try await self.deliver(event.id, event.topic, event.payload)
                try await self.asRelay { connection in
                    try await connection.query(
                        "UPDATE outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = \(event.id)",
                        logger: self.logger
                    )
                }
            } catch {
                // Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 60 s.
                let base = min(60.0, 0.5 * pow(2.0, Double(min(event.attempts, 10))))
                let delay = base * Double.random(in: 0.5...1.0)
                let message = String(String(describing: error).prefix(500))
                try await self.asRelay { connection in
                    try await connection.query(
                        """
                        UPDATE outbox SET attempts = attempts + 1, last_error = \(message),
                            next_attempt_at = now() + make_interval(secs => \(delay))
                        WHERE id = \(event.id) AND delivered_at IS NULL
                        """,
                        logger: self.logger
                    )
                }
                self.logger.info(
                    "outbox.delivery.retry",
                    metadata: ["outbox.id": "\(event.id)", "outbox.topic": "\(event.topic)", "error": "\(error)"]
                )
            }
        }
        return claimed.count
    }

    /// Runs `body` in a transaction that declares itself the relay: the outbox's row-level
    /// security admits every seller's rows to it (and only that table does).
    private func asRelay<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await self.client.withTransaction(logger: self.logger) { connection in
            try await connection.query("SELECT set_config('app.outbox_relay', 'on', true)", logger: self.logger)
            return try await body(connection)
        }
    }
}

/// Writes events to the outbox inside the caller's transaction.
public enum Outbox {
    public static func enqueue(
        on connection: PostgresConnection,
        id: UUID = UUID(),
        sellerID: UUID,
        topic: String,
        payload: [UInt8],
        logger: Logger
    ) async throws {
        try await connection.query(
            "INSERT INTO outbox (id, seller_id, topic, payload) VALUES (\(id), \(sellerID), \(topic), \(Data(payload)))",
            logger: logger
        )
    }
}
