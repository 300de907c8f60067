import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's connection to an ad platform: the platform user whose access token it keeps
/// (sealed: `PlatformTokenVault`). Reads never select the token; `PlatformConnectionStore.grant`
/// opens it for a platform call.
struct PlatformConnectionRecord: StoredObject {
    static let table = ObjectTable(
        name: "platform_connections",
        noun: "platform connection",
        source: "platform_connections o",
        columns: "o.id, o.platform, o.external_user_id, o.created_at, o.updated_at",
        parentColumn: nil,
        hasStatus: false
    )

    var id: UUID
    var platform: String
    var externalUserID: String
    var createdAt: Date
    var updatedAt: Date

    init(id: UUID, platform: String, externalUserID: String, createdAt: Date, updatedAt: Date) {
        (self.id, self.platform, self.externalUserID, self.createdAt, self.updatedAt) = (id, platform, externalUserID, createdAt, updatedAt)
    }

    init(row: PostgresRow) throws {
        (self.id, self.platform, self.externalUserID, self.createdAt, self.updatedAt) =
            try row.decode((UUID, String, String, Date, Date).self)
    }

    var message: Pixecom_Campaign_V1_PlatformConnection {
        Pixecom_Campaign_V1_PlatformConnection.with {
            $0.id = self.id.wireText
            $0.platform = self.platform
            $0.externalUserID = self.externalUserID
            $0.createTime = RequestValidation.timestamp(self.createdAt)
            $0.updateTime = RequestValidation.timestamp(self.updatedAt)
        }
    }
}

/// The platform connections in Postgres, their tokens sealed by `vault`.
struct PlatformConnectionStore: Sendable {
    let db: PostgresClient
    let vault: PlatformTokenVault

    private static let nilUUID = UUID(uuidString: "00000000-0000-0000-0000-000000000000")!

    /// Stores `grant` for the seller: a new connection, or the seller's existing one for the same
    /// platform user with its token replaced (one connection per platform user).
    func save(_ grant: PlatformGrant, platform: String, sellerID: UUID, logger: Logger) async throws -> PlatformConnectionRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await self.save(grant, platform: platform, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    func save(
        _ grant: PlatformGrant, platform: String, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> PlatformConnectionRecord {
        let existing = try await connection.query(
            """
            SELECT id FROM platform_connections
            WHERE seller_id = \(sellerID) AND platform = \(platform) AND external_user_id = \(grant.userID)
            FOR NO KEY UPDATE
            """,
            logger: logger
        )
        var id: UUID?
        for try await found in existing.decode(UUID.self) { id = found }
        if let id {
            let sealed = try self.vault.seal(grant.accessToken, sellerID: sellerID, connectionID: id)
            try await connection.query(
                """
                UPDATE platform_connections
                SET token_sealed = \(sealed.bytes), token_key_version = \(sealed.keyVersion), updated_at = clock_timestamp()
                WHERE seller_id = \(sellerID) AND id = \(id)
                """,
                logger: logger
            )
            return try await ObjectQueries.require(
                PlatformConnectionRecord.self, sellerID: sellerID, id: id, on: connection, logger: logger)
        }
        let newID = UUID()
        let sealed = try self.vault.seal(grant.accessToken, sellerID: sellerID, connectionID: newID)
        return try await ObjectQueries.insert(
            """
            INSERT INTO platform_connections (seller_id, id, platform, external_user_id, token_sealed, token_key_version)
            VALUES (\(sellerID), \(newID), \(platform), \(grant.userID), \(sealed.bytes), \(sealed.keyVersion))
            """,
            id: newID,
            returning: PlatformConnectionRecord.self,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
    }

    /// The grant of the seller's connection `id`, its token opened; NOT_FOUND for another
    /// seller's.
    func grant(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> (PlatformConnectionRecord, PlatformGrant) {
        let rows = try await self.db.readAsSeller(
            sellerID,
            """
            SELECT o.id, o.platform, o.external_user_id, o.created_at, o.updated_at, o.token_sealed, o.token_key_version
            FROM platform_connections o WHERE o.seller_id = \(sellerID) AND o.id = \(id)
            """,
            logger: logger
        ) { row in
            let (id, platform, user, created, updated, bytes, version) = try row.decode((UUID, String, String, Date, Date, Data, Int).self)
            return (id, platform, user, created, updated, SealedToken(bytes: bytes, keyVersion: version))
        }
        guard let (id, platform, user, created, updated, sealed) = rows.first else {
            throw RPCError(.notFound, "connection_id: platform connection \(id.wireText) not found")
        }
        let token = try self.vault.open(sealed, sellerID: sellerID, connectionID: id)
        let record = PlatformConnectionRecord(id: id, platform: platform, externalUserID: user, createdAt: created, updatedAt: updated)
        return (record, PlatformGrant(userID: user, accessToken: token))
    }

    /// The seller's first connection on `platform` (its default); nil when it has none.
    func first(platform: String, sellerID: UUID, logger: Logger) async throws -> UUID? {
        let ids = try await self.db.readAsSeller(
            sellerID,
            """
            SELECT id FROM platform_connections WHERE seller_id = \(sellerID) AND platform = \(platform)
            ORDER BY created_at, id LIMIT 1
            """,
            logger: logger
        ) { try $0.decode(UUID.self) }
        return ids.first
    }

    /// One batch of re-sealing: up to `limit` tokens sealed under an older key than the vault's
    /// current one, after `cursor` in (seller_id, id) order, across sellers, in one transaction.
    /// A token that does not open (its key is no longer listed, or the row was tampered with) is
    /// left as it is and reported; the others go on. Rows another re-encryption holds are skipped
    /// (SKIP LOCKED), so replicas can run it at once.
    func resealBatch(after cursor: ResealCursor?, limit: Int, logger: Logger) async throws -> ResealBatch {
        try await self.db.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.token_rotation', 'on', true)", logger: logger)
            let after = cursor ?? ResealCursor(sellerID: Self.nilUUID, id: Self.nilUUID)
            let rows = try await connection.query(
                """
                SELECT seller_id, id, token_sealed, token_key_version FROM platform_connections
                WHERE token_key_version <> \(self.vault.currentVersion) AND (seller_id, id) > (\(after.sellerID), \(after.id))
                ORDER BY seller_id, id
                LIMIT \(limit)
                FOR NO KEY UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var stale: [(UUID, UUID, SealedToken)] = []
            for try await (seller, id, bytes, version) in rows.decode((UUID, UUID, Data, Int).self) {
                stale.append((seller, id, SealedToken(bytes: bytes, keyVersion: version)))
            }
            var batch = ResealBatch(fetched: stale.count, resealed: 0, unreadable: [], last: nil)
            for (seller, id, sealed) in stale {
                batch.last = ResealCursor(sellerID: seller, id: id)
                let fresh: SealedToken
                do {
                    guard let resealed = try self.vault.resealed(sealed, sellerID: seller, connectionID: id) else { continue }
                    fresh = resealed
                } catch {
                    batch.unreadable.append(id)
                    logger.error(
                        "platform_tokens.unreadable",
                        metadata: ["connection.id": "\(id.wireText)", "tokens.key_version": "\(sealed.keyVersion)", "error": "\(error)"])
                    continue
                }
                try await connection.query(
                    """
                    UPDATE platform_connections SET token_sealed = \(fresh.bytes), token_key_version = \(fresh.keyVersion)
                    WHERE seller_id = \(seller) AND id = \(id)
                    """,
                    logger: logger
                )
                batch.resealed += 1
            }
            return batch
        }
    }

    /// How many tokens each key version seals (across sellers), for operators and tests.
    func keyVersionCounts(logger: Logger) async throws -> [Int: Int] {
        try await self.db.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.token_rotation', 'on', true)", logger: logger)
            let rows = try await connection.query(
                "SELECT token_key_version, count(*)::bigint FROM platform_connections GROUP BY token_key_version", logger: logger)
            var counts: [Int: Int] = [:]
            for try await (version, count) in rows.decode((Int, Int).self) { counts[version] = count }
            return counts
        }
    }
}

/// Where a re-sealing pass stands: the last row a batch looked at.
struct ResealCursor: Sendable, Equatable {
    var sellerID: UUID
    var id: UUID
}

/// What one batch of re-sealing did.
struct ResealBatch: Sendable {
    var fetched: Int
    var resealed: Int
    /// Connections whose token did not open (left as they were).
    var unreadable: [UUID]
    var last: ResealCursor?
}
