import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import SwiftProtobuf

/// An `idempotency-key` sent with a mutating call, with what identifies the call it came with.
struct IdempotencyClaim: Sendable {
    let key: String
    /// The method's short name ("RefundOrder"): a key is the seller's, whatever the method, so
    /// the same key on another method is a reuse, not a replay.
    let method: String
    /// An unambiguous byte form of the request, hashed and compared with the first call's.
    /// `Data`, not `[UInt8]`: PostgresNIO binds `Data` as `bytea` but `[UInt8]` as `"char"[]`.
    let fingerprint: Data

    /// A claim on `key` for `request` of `method` (a full method name), the request's protobuf
    /// encoding as its fingerprint: deterministic for these messages, which have no maps.
    init(key: String, method: String, request: some SwiftProtobuf.Message) throws {
        self.init(key: key, method: method, fingerprint: try request.serializedBytes() as Data)
    }

    init(key: String, method: String, fingerprint: Data) {
        self.key = key
        self.method = String(method.split(separator: "/").last ?? Substring(method))
        self.fingerprint = fingerprint
    }
}

extension OrderStore {
    /// How long a key is honoured; the prune job deletes older ones, and an older one that is
    /// still there counts as unused.
    static let idempotencyKeyLifetime = "24 hours"

    /// Runs `body` in one seller-scoped transaction, at most once per idempotency key.
    ///
    /// The key row is inserted first: a concurrent call with the same key blocks on its primary
    /// key until this transaction ends, then finds it and replays the stored response, so one key
    /// never runs a body twice. A body that throws rolls back the key with everything else, and a
    /// retry runs afresh. The same key with another method or other parameters is
    /// FAILED_PRECONDITION, naming the method it was first used with.
    func idempotent<Response: SwiftProtobuf.Message & Sendable>(
        _ claim: IdempotencyClaim?,
        sellerID: UUID,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Response
    ) async throws -> (response: Response, replayed: Bool) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.idempotent(claim, sellerID: sellerID, on: connection, logger: logger) { try await body(connection) }
        }
    }

    /// `idempotent` inside the caller's seller-scoped transaction.
    static func idempotent<Response: SwiftProtobuf.Message & Sendable>(
        _ claim: IdempotencyClaim?,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger,
        _ body: () async throws -> Response
    ) async throws -> (response: Response, replayed: Bool) {
        guard let claim else { return (try await body(), false) }
        if let replayed: Response = try await Self.claim(claim, sellerID: sellerID, on: connection, logger: logger) {
            return (replayed, true)
        }
        let response = try await body()
        let bytes: Data = try response.serializedBytes()
        try await connection.query(
            "UPDATE idempotency_keys SET response = \(bytes) WHERE seller_id = \(sellerID) AND key = \(claim.key)",
            logger: logger
        )
        return (response, false)
    }

    /// Takes the key for this call (nil: go ahead), or returns the response an earlier call with
    /// it stored.
    private static func claim<Response: SwiftProtobuf.Message>(
        _ claim: IdempotencyClaim, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Response? {
        for _ in 0..<2 {
            let inserted = try await connection.query(
                """
                INSERT INTO idempotency_keys (seller_id, key, request_hash, method)
                VALUES (\(sellerID), \(claim.key), encode(sha256(\(claim.fingerprint)::bytea), 'hex'), \(claim.method))
                ON CONFLICT (seller_id, key) DO NOTHING
                RETURNING key
                """,
                logger: logger
            )
            var isNew = false
            for try await _ in inserted.decode(String.self) { isNew = true }
            if isNew { return nil }
            let rows = try await connection.query(
                """
                SELECT method, request_hash = encode(sha256(\(claim.fingerprint)::bytea), 'hex'), response, order_id,
                       created_at < now() - \(Self.idempotencyKeyLifetime)::interval
                FROM idempotency_keys WHERE seller_id = \(sellerID) AND key = \(claim.key)
                """,
                logger: logger
            )
            var found: (String, Bool, Data?, UUID?, Bool)?
            for try await row in rows.decode((String, Bool, Data?, UUID?, Bool).self) { found = row }
            guard let (method, sameRequest, stored, orderID, expired) = found else {
                throw RPCError(.aborted, "the idempotency key changed concurrently; retry")
            }
            if expired {
                // Past its lifetime the key is free again: the old use is forgotten.
                try await connection.query(
                    "DELETE FROM idempotency_keys WHERE seller_id = \(sellerID) AND key = \(claim.key)", logger: logger)
                continue
            }
            guard method == claim.method, sameRequest else {
                let first = method == claim.method ? "this method with other parameters" : method
                throw RPCError(
                    .failedPrecondition,
                    "idempotency-key was already used for \(first); a retry must repeat the first request exactly, a new request needs a new key"
                )
            }
            if let stored { return try Response(serializedBytes: stored) }
            // A CreateOrder key stored before responses were kept: its order, as it is now.
            if let orderID, let order = try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger).proto as? Response
            {
                return order
            }
            throw RPCError(.internal, "idempotency key has no stored response")
        }
        throw RPCError(.aborted, "the idempotency key changed concurrently; retry")
    }

    /// Deletes keys past their lifetime, of every seller, in batches; returns how many went.
    func pruneIdempotencyKeys(batch: Int = 10_000, logger: Logger) async throws -> Int {
        var deleted = 0
        while true {
            let count = try await self.db.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT set_config('app.idempotency_prune', 'on', true)", logger: logger)
                let rows = try await connection.query(
                    """
                    WITH expired AS (
                        SELECT seller_id, key FROM idempotency_keys
                        WHERE created_at < now() - \(Self.idempotencyKeyLifetime)::interval
                        ORDER BY created_at LIMIT \(batch)
                    )
                    DELETE FROM idempotency_keys k USING expired e
                    WHERE k.seller_id = e.seller_id AND k.key = e.key
                    RETURNING 1
                    """,
                    logger: logger
                )
                var count = 0
                for try await _ in rows.decode(Int32.self) { count += 1 }
                return count
            }
            deleted += count
            if count < batch { return deleted }
        }
    }
}
