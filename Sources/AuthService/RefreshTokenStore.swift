import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// Refresh tokens: opaque strings (`pxr_...`: the seller id and 256 random bits, see
/// `SellerBoundSecret`), stored only as an HMAC, rotated on every use.
///
/// The tokens rotated from one login form a family. Presenting a token that was already spent
/// (later than `Lifetimes.overlap` after it was spent) means it was copied: the whole family is
/// revoked, so neither the thief nor the victim can go on
/// without logging in again. A token dies after an idle lifetime without use, and its family after
/// an absolute lifetime from the login.
struct RefreshTokenStore: Sendable {
    struct Lifetimes: Sendable {
        var idle: Duration
        var absolute: Duration
        /// A token spent this recently may be presented again without counting as reuse: two
        /// tabs refreshing at once both get a pair (the family gains a second live token)
        /// instead of the second one revoking the family. Default 10 s.
        var overlap: Duration = .seconds(10)
    }

    /// A token handed to the client, and seconds until it expires if unused.
    struct Issued: Sendable {
        let token: String
        let expiresIn: Int64
    }

    static let prefix = "pxr_"

    let db: PostgresClient
    let secrets: AuthSecrets
    let lifetimes: Lifetimes

    /// Starts a new family for `user` (a login).
    func issue(for user: UserRecord, logger: Logger) async throws -> Issued {
        let now = Date()
        let familyExpiry = now.addingTimeInterval(self.lifetimes.absolute.inSeconds)
        return try await self.db.withSeller(user.sellerID, logger: logger) { connection in
            try await self.insert(user: user, family: UUID(), familyExpiry: familyExpiry, now: now, on: connection, logger: logger)
        }
    }

    private enum Rotation {
        case rotated(UserRecord, Issued)
        case refused(String)
        case reused(family: UUID, sellerID: UUID)
    }

    /// Spends `token` and returns its user with the token that replaces it. UNAUTHENTICATED when the
    /// token is unknown, expired, revoked or already spent (then its family is revoked too).
    func rotate(_ token: String, accounts: AccountStore, logger: Logger) async throws -> (UserRecord, Issued) {
        let hash = self.secrets.tokenHash(token)
        let now = Date()
        guard let tokenSeller = SellerBoundSecret.seller(of: token, prefix: Self.prefix) else {
            logger.info("refresh_token.refused", metadata: ["refresh.reason": "malformed"])
            throw RPCError(.unauthenticated, "refresh token is not valid; log in again")
        }
        let outcome: Rotation = try await self.db.withSeller(tokenSeller, logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT seller_id, id, family_id, user_id, idle_expires_at, family_expires_at, used_at, revoked_at
                FROM refresh_tokens WHERE token_hash = \(hash) FOR UPDATE
                """,
                logger: logger
            )
            var found: (UUID, UUID, UUID, UUID, Date, Date, Date?, Date?)?
            for try await row in rows.decode((UUID, UUID, UUID, UUID, Date, Date, Date?, Date?).self) { found = row }
            guard let (sellerID, id, family, userID, idleExpiry, familyExpiry, usedAt, revokedAt) = found else {
                return .refused("unknown")
            }
            if revokedAt != nil { return .refused("revoked") }
            if let usedAt, now.timeIntervalSince(usedAt) < self.lifetimes.overlap.inSeconds, now < familyExpiry {
                // A concurrent refresh within the overlap window: another token of the family.
                guard let user = try await accounts.user(sellerID: sellerID, id: userID, on: connection, logger: logger) else {
                    return .refused("user removed")
                }
                logger.info("refresh_token.overlap", metadata: ["refresh.family": "\(family)"])
                let issued = try await self.insert(
                    user: user, family: family, familyExpiry: familyExpiry, now: now, on: connection, logger: logger)
                return .rotated(user, issued)
            }
            if usedAt != nil {
                try await connection.query(
                    """
                    UPDATE refresh_tokens SET revoked_at = now()
                    WHERE seller_id = \(sellerID) AND family_id = \(family) AND revoked_at IS NULL
                    """,
                    logger: logger
                )
                return .reused(family: family, sellerID: sellerID)
            }
            if now >= idleExpiry || now >= familyExpiry { return .refused("expired") }
            guard let user = try await accounts.user(sellerID: sellerID, id: userID, on: connection, logger: logger) else {
                return .refused("user removed")
            }
            try await connection.query(
                "UPDATE refresh_tokens SET used_at = now() WHERE seller_id = \(sellerID) AND id = \(id)",
                logger: logger
            )
            let issued = try await self.insert(
                user: user, family: family, familyExpiry: familyExpiry, now: now, on: connection, logger: logger)
            return .rotated(user, issued)
        }
        switch outcome {
        case .rotated(let user, let issued):
            return (user, issued)
        case .refused(let reason):
            logger.info("refresh_token.refused", metadata: ["refresh.reason": "\(reason)"])
            throw RPCError(.unauthenticated, "refresh token is not valid; log in again")
        case .reused(let family, let sellerID):
            logger.warning(
                "refresh_token.reuse_detected",
                metadata: ["refresh.family": "\(family)", "seller.id": "\(sellerID)"]
            )
            throw RPCError(.unauthenticated, "refresh token is not valid; log in again")
        }
    }

    private func insert(
        user: UserRecord, family: UUID, familyExpiry: Date, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Issued {
        let token = SellerBoundSecret.make(prefix: Self.prefix, sellerID: user.sellerID)
        let hash = self.secrets.tokenHash(token)
        let idleExpiry = min(familyExpiry, now.addingTimeInterval(self.lifetimes.idle.inSeconds))
        try await connection.query(
            """
            INSERT INTO refresh_tokens (seller_id, id, family_id, user_id, token_hash, idle_expires_at, family_expires_at)
            VALUES (\(user.sellerID), \(UUID()), \(family), \(user.id), \(hash), \(idleExpiry), \(familyExpiry))
            """,
            logger: logger
        )
        return Issued(token: token, expiresIn: Int64(idleExpiry.timeIntervalSince(now).rounded(.down)))
    }
}
