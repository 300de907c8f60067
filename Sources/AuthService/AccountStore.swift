import Foundation
import Logging
import PostgresNIO
import RPCKit

/// A user as AuthService needs it to log in and to mint tokens.
struct UserRecord: Sendable {
    let id: UUID
    let sellerID: UUID
    let email: String
    let passwordHash: String
    let role: String
    let plan: String
}

/// Sellers and their users in the auth database.
struct AccountStore: Sendable {
    let db: PostgresClient

    /// Registers a seller with its owner, in one transaction. ALREADY_EXISTS when the e-mail is
    /// taken (nothing is written then).
    func register(
        sellerName: String, email: String, passwordHash: PasswordHash, plan: String = "free", logger: Logger
    ) async throws -> (sellerID: UUID, userID: UUID) {
        let sellerID = UUID()
        let userID = UUID()
        let encoded = passwordHash.encoded
        return try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await connection.query("INSERT INTO sellers (id, name, plan) VALUES (\(sellerID), \(sellerName), \(plan))", logger: logger)
            let inserted = try await connection.query(
                """
                INSERT INTO users (seller_id, id, email, password_hash, role)
                VALUES (\(sellerID), \(userID), \(email), \(encoded), 'OWNER')
                ON CONFLICT (email) DO NOTHING
                RETURNING id
                """,
                logger: logger
            )
            var created = false
            for try await _ in inserted.decode(UUID.self) { created = true }
            guard created else {
                throw RPCError(
                    .alreadyExists,
                    "email: is already registered",
                    fieldViolations: [.init(field: "email", description: "is already registered")]
                )
            }
            try await Self.addLogin(email: email, sellerID: sellerID, userID: userID, on: connection, logger: logger)
            return (sellerID, userID)
        }
    }

    /// The user with this (lower-cased) e-mail, if any: its seller from `user_logins` (the one
    /// lookup made before any seller is known), then the user inside that seller's scope.
    func user(email: String, logger: Logger) async throws -> UserRecord? {
        var found: (UUID, UUID)?
        let logins = try await self.db.query("SELECT seller_id, user_id FROM user_logins WHERE email = \(email)", logger: logger)
        for try await row in logins.decode((UUID, UUID).self) { found = row }
        guard let (sellerID, userID) = found else { return nil }
        return try await self.user(sellerID: sellerID, id: userID, logger: logger)
    }

    /// Records the login e-mail of a new user (inside the transaction that creates the user).
    static func addLogin(email: String, sellerID: UUID, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "INSERT INTO user_logins (email, seller_id, user_id) VALUES (\(email), \(sellerID), \(userID))",
            logger: logger
        )
    }

    /// Forgets the login e-mail of a removed user.
    static func removeLogin(userID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM user_logins WHERE user_id = \(userID)", logger: logger)
    }

    /// The user `id` of seller `sellerID`, if it still exists (one scoped read).
    func user(sellerID: UUID, id: UUID, logger: Logger) async throws -> UserRecord? {
        let users = try await self.db.readAsSeller(sellerID, Self.userQuery(sellerID: sellerID, id: id), logger: logger) { row in
            let (id, sellerID, email, hash, role, plan) = try row.decode((UUID, UUID, String, String, String, String).self)
            return UserRecord(id: id, sellerID: sellerID, email: email, passwordHash: hash, role: role, plan: plan)
        }
        return users.first
    }

    /// Stores a user's new password, ends every session of theirs and records `event`, in one
    /// transaction.
    func changePassword(
        sellerID: UUID, userID: UUID, to hash: PasswordHash, sessions: RefreshTokenStore, recording event: AuditLog.Event,
        in audit: AuditLog, logger: Logger
    ) async throws {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await self.replacePasswordHash(sellerID: sellerID, userID: userID, with: hash, on: connection, logger: logger)
            try await sessions.revokeAllSessions(sellerID: sellerID, userID: userID, on: connection, logger: logger)
            try await audit.record(event, on: connection, logger: logger)
        }
    }

    private static func userQuery(sellerID: UUID, id: UUID) -> PostgresQuery {
        """
        SELECT u.id, u.seller_id, u.email, u.password_hash, u.role, s.plan
        FROM users u JOIN sellers s ON s.id = u.seller_id
        WHERE u.seller_id = \(sellerID) AND u.id = \(id)
        """
    }

    /// The user `id` of seller `sellerID`, if it still exists.
    func user(sellerID: UUID, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UserRecord? {
        let rows = try await connection.query(Self.userQuery(sellerID: sellerID, id: id), logger: logger)
        return try await Self.decode(rows)
    }

    /// Replaces a user's password hash (after a login under outdated parameters).
    func replacePasswordHash(sellerID: UUID, userID: UUID, with hash: PasswordHash, logger: Logger) async throws {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await self.replacePasswordHash(sellerID: sellerID, userID: userID, with: hash, on: connection, logger: logger)
        }
    }

    /// Replaces a user's password hash inside the caller's transaction.
    func replacePasswordHash(sellerID: UUID, userID: UUID, with hash: PasswordHash, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            "UPDATE users SET password_hash = \(hash.encoded) WHERE seller_id = \(sellerID) AND id = \(userID)",
            logger: logger
        )
    }

    private static func decode(_ rows: PostgresRowSequence) async throws -> UserRecord? {
        for try await (id, sellerID, email, hash, role, plan) in rows.decode((UUID, UUID, String, String, String, String).self) {
            return UserRecord(id: id, sellerID: sellerID, email: email, passwordHash: hash, role: role, plan: plan)
        }
        return nil
    }
}
