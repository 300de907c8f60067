import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// Sessions are refresh-token families: one login and every rotation since. A live session has
/// one token that is neither spent, revoked nor expired.
extension RefreshTokenStore {
    /// The user's live sessions, newest first.
    func sessions(sellerID: UUID, userID: UUID, logger: Logger) async throws -> [Pixecom_Auth_V1_Session] {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.sessions(sellerID: sellerID, userID: userID, on: connection, logger: logger)
        }
    }

    private static func sessions(sellerID: UUID, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> [Pixecom_Auth_V1_Session]
    {
        let rows = try await connection.query(
            """
            SELECT t.family_id,
                   (SELECT min(f.created_at) FROM refresh_tokens f
                    WHERE f.seller_id = t.seller_id AND f.family_id = t.family_id),
                   t.created_at, least(t.idle_expires_at, t.family_expires_at)
            FROM refresh_tokens t
            WHERE t.seller_id = \(sellerID) AND t.user_id = \(userID)
              AND t.used_at IS NULL AND t.revoked_at IS NULL
              AND t.idle_expires_at > now() AND t.family_expires_at > now()
            ORDER BY t.created_at DESC
            """,
            logger: logger
        )
        var sessions: [Pixecom_Auth_V1_Session] = []
        for try await (family, createdAt, lastUsed, expiresAt) in rows.decode((UUID, Date, Date, Date).self) {
            var session = Pixecom_Auth_V1_Session()
            session.id = family.uuidString.lowercased()
            session.createdAt = RequestValidation.timestamp(createdAt)
            session.lastUsedAt = RequestValidation.timestamp(lastUsed)
            session.expiresAt = RequestValidation.timestamp(expiresAt)
            sessions.append(session)
        }
        return sessions
    }

    /// Ends one of the user's sessions and records `event`, in one transaction. NOT_FOUND when the
    /// user has no live session `family`.
    func revokeSession(
        _ family: UUID, sellerID: UUID, userID: UUID, recording event: AuditLog.Event, in audit: AuditLog, logger: Logger
    ) async throws {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await self.revokeSession(family, sellerID: sellerID, userID: userID, on: connection, logger: logger)
            try await audit.record(event, on: connection, logger: logger)
        }
    }

    /// Ends one of the user's sessions. NOT_FOUND when the user has no live session `family`.
    func revokeSession(_ family: UUID, sellerID: UUID, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE seller_id = \(sellerID) AND user_id = \(userID) AND family_id = \(family) AND revoked_at IS NULL
            RETURNING id
            """,
            logger: logger
        )
        var revoked = 0
        for try await _ in rows.decode(UUID.self) { revoked += 1 }
        guard revoked > 0 else {
            throw RPCError(.notFound, "session \(family.uuidString.lowercased()) not found")
        }
    }

    /// Ends every session of the user.
    func revokeAllSessions(sellerID: UUID, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE seller_id = \(sellerID) AND user_id = \(userID) AND revoked_at IS NULL
            """,
            logger: logger
        )
    }

    /// Ends the family of `token` (a logout). Nothing happens for an unknown token.
    func revokeFamily(of token: String, logger: Logger) async throws {
        guard let sellerID = SellerBoundSecret.seller(of: token, prefix: Self.prefix) else { return }
        let hash = self.secrets.tokenHash(token)
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            _ = try await connection.query(
                """
                UPDATE refresh_tokens SET revoked_at = now()
                WHERE seller_id = \(sellerID) AND revoked_at IS NULL
                  AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = \(hash))
                """,
                logger: logger
            )
        }
    }
}
