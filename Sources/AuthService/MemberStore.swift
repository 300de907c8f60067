import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// The members of a seller: invitations, the member list, role changes and removal, each
/// recorded in the audit log in the same transaction.
///
/// Rules, checked here so that every path obeys them: the OWNER's role never changes and the
/// OWNER is never removed; only the OWNER grants ADMIN or changes or removes an ADMIN; nobody
/// changes or removes themselves; nobody is invited as OWNER.
struct MemberStore: Sendable {
    /// Invitations are valid this long.
    static let invitationLifetime: TimeInterval = 7 * 24 * 3600
    static let invitationPrefix = "pxi_"

    /// Who acts, from their verified access token.
    struct Actor: Sendable {
        let sellerID: UUID
        let userID: UUID
        let role: Role
        let plan: String
        let sourceAddress: String
    }

    let db: PostgresClient
    let secrets: AuthSecrets
    let audit: AuditLog

    /// A new invitation; FAILED_PRECONDITION when the plan's member limit is reached.
    func invite(email: String, role: Role, by actor: Actor, logger: Logger) async throws -> Pixecom_Auth_V1_Invitation {
        try Self.requireMayAssign(role, actor: actor)
        let token = SellerBoundSecret.make(prefix: Self.invitationPrefix, sellerID: actor.sellerID)
        let hash = self.secrets.tokenHash(token)
        let id = UUID()
        let expiresAt = Date().addingTimeInterval(Self.invitationLifetime)
        let limit = PlanLimits.of(plan: actor.plan).members
        try await self.db.withSeller(actor.sellerID, logger: logger) { connection in
            // Serializes invitations of one seller, so two at once cannot both pass the limit.
            try await connection.query("SELECT id FROM sellers WHERE id = \(actor.sellerID) FOR UPDATE", logger: logger)
            let counted = try await connection.query(
                """
                SELECT (SELECT count(*) FROM users WHERE seller_id = \(actor.sellerID))
                     + (SELECT count(*) FROM invitations
                        WHERE seller_id = \(actor.sellerID) AND accepted_at IS NULL AND expires_at > now())
                """,
                logger: logger
            )
            var members = 0
            for try await count in counted.decode(Int.self) { members = count }
            guard members < limit else {
                throw RPCError(
                    .failedPrecondition,
                    "the \(actor.plan) plan allows \(limit) members including pending invitations; remove one or change plans"
                )
            }
            try await connection.query(
                """
                INSERT INTO invitations (seller_id, id, email, role, token_hash, invited_by, expires_at)
                VALUES (\(actor.sellerID), \(id), \(email), \(role.rawValue), \(hash), \(actor.userID), \(expiresAt))
                """,
                logger: logger
            )
            try await self.audit.record(
                .init(
                    sellerID: actor.sellerID, kind: "member.invited", actor: actor.userID, subject: nil,
                    sourceAddress: actor.sourceAddress, details: ["email": email, "role": role.rawValue]),
                on: connection, logger: logger
            )
        }
        var invitation = Pixecom_Auth_V1_Invitation()
        invitation.id = id.uuidString.lowercased()
        invitation.email = email
        invitation.role = role.rawValue
        invitation.token = token
        invitation.expiresIn = Int64(Self.invitationLifetime)
        return invitation
    }

    /// Spends an invitation token and creates its member. UNAUTHENTICATED when the token is
    /// unknown, spent or expired; ALREADY_EXISTS when the e-mail has an account meanwhile.
    func accept(token: String, passwordHash: PasswordHash, sourceAddress: String, logger: Logger) async throws -> UserRecord {
        let hash = self.secrets.tokenHash(token)
        guard let tokenSeller = SellerBoundSecret.seller(of: token, prefix: Self.invitationPrefix) else {
            throw RPCError(.unauthenticated, "invitation is not valid; ask for a new one")
        }
        return try await self.db.withSeller(tokenSeller, logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT i.seller_id, i.id, i.email, i.role, s.plan FROM invitations i JOIN sellers s ON s.id = i.seller_id
                WHERE i.token_hash = \(hash) AND i.accepted_at IS NULL AND i.expires_at > now()
                FOR UPDATE OF i
                """,
                logger: logger
            )
            var found: (UUID, UUID, String, String, String)?
            for try await row in rows.decode((UUID, UUID, String, String, String).self) { found = row }
            guard let (sellerID, invitationID, email, role, plan) = found else {
                throw RPCError(.unauthenticated, "invitation is not valid; ask for a new one")
            }
            let userID = UUID()
            let inserted = try await connection.query(
                """
                INSERT INTO users (seller_id, id, email, password_hash, role)
                VALUES (\(sellerID), \(userID), \(email), \(passwordHash.encoded), \(role))
                ON CONFLICT (email) DO NOTHING RETURNING id
                """,
                logger: logger
            )
            var created = false
            for try await _ in inserted.decode(UUID.self) { created = true }
            guard created else {
                throw RPCError(.alreadyExists, "email: \(email) already has an account")
            }
            try await AccountStore.addLogin(email: email, sellerID: sellerID, userID: userID, on: connection, logger: logger)
            try await connection.query(
                "UPDATE invitations SET accepted_at = now() WHERE seller_id = \(sellerID) AND id = \(invitationID)",
                logger: logger
            )
            try await self.audit.record(
                .init(
                    sellerID: sellerID, kind: "member.joined", actor: userID, subject: userID,
                    sourceAddress: sourceAddress, details: ["role": role]),
                on: connection, logger: logger
            )
            return UserRecord(id: userID, sellerID: sellerID, email: email, passwordHash: passwordHash.encoded, role: role, plan: plan)
        }
    }

    /// The seller's members, oldest first.
    func list(sellerID: UUID, logger: Logger) async throws -> [Pixecom_Auth_V1_Member] {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT id, email, role, created_at FROM users WHERE seller_id = \(sellerID) ORDER BY created_at, id",
                logger: logger
            )
            var members: [Pixecom_Auth_V1_Member] = []
            for try await (id, email, role, createdAt) in rows.decode((UUID, String, String, Date).self) {
                members.append(Self.member(id: id, email: email, role: role, createdAt: createdAt))
            }
            return members
        }
    }

    /// Gives a member another role. NOT_FOUND when `userID` is not a member of the actor's seller.
    func changeRole(of userID: UUID, to role: Role, by actor: Actor, logger: Logger) async throws -> Pixecom_Auth_V1_Member {
        try Self.requireMayAssign(role, actor: actor)
        return try await self.db.withSeller(actor.sellerID, logger: logger) { connection in
            let target = try await self.lockedMember(userID, sellerID: actor.sellerID, on: connection, logger: logger)
            try Self.requireMayManage(target, userID: userID, actor: actor, action: "change the role of")
            try await connection.query(
                "UPDATE users SET role = \(role.rawValue) WHERE seller_id = \(actor.sellerID) AND id = \(userID)",
                logger: logger
            )
            try await self.audit.record(
                .init(
                    sellerID: actor.sellerID, kind: "member.role_changed", actor: actor.userID, subject: userID,
                    sourceAddress: actor.sourceAddress, details: ["from": target.role.rawValue, "to": role.rawValue]),
                on: connection, logger: logger
            )
            return Self.member(id: userID, email: target.email, role: role.rawValue, createdAt: target.createdAt)
        }
    }

    /// Removes a member and ends their sessions (their refresh tokens go with them).
    func remove(_ userID: UUID, by actor: Actor, logger: Logger) async throws {
        try await self.db.withSeller(actor.sellerID, logger: logger) { connection in
            let target = try await self.lockedMember(userID, sellerID: actor.sellerID, on: connection, logger: logger)
            try Self.requireMayManage(target, userID: userID, actor: actor, action: "remove")
            try await connection.query(
                "DELETE FROM refresh_tokens WHERE seller_id = \(actor.sellerID) AND user_id = \(userID)",
                logger: logger
            )
            try await connection.query("DELETE FROM users WHERE seller_id = \(actor.sellerID) AND id = \(userID)", logger: logger)
            try await AccountStore.removeLogin(userID: userID, on: connection, logger: logger)
            try await self.audit.record(
                .init(
                    sellerID: actor.sellerID, kind: "member.removed", actor: actor.userID, subject: userID,
                    sourceAddress: actor.sourceAddress, details: ["email": target.email, "role": target.role.rawValue]),
                on: connection, logger: logger
            )
        }
    }

    // MARK: - Rules

    private struct Target {
        let email: String
        let role: Role
        let createdAt: Date
    }

    private func lockedMember(_ userID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Target {
        let rows = try await connection.query(
            "SELECT email, role, created_at FROM users WHERE seller_id = \(sellerID) AND id = \(userID) FOR UPDATE",
            logger: logger
        )
        for try await (email, role, createdAt) in rows.decode((String, String, Date).self) {
            return Target(email: email, role: Role(text: role) ?? .viewer, createdAt: createdAt)
        }
        throw RPCError(.notFound, "member \(userID.uuidString.lowercased()) not found")
    }

    /// Only the OWNER hands out ADMIN; OWNER is never handed out here.
    private static func requireMayAssign(_ role: Role, actor: Actor) throws {
        if role == .owner {
            throw RPCError.invalidArgument(field: "role", "must be VIEWER, EDITOR or ADMIN; ownership cannot be assigned")
        }
        if role == .admin && actor.role < .owner {
            throw RPCError(.permissionDenied, "only the owner may grant ADMIN")
        }
    }

    private static func requireMayManage(_ target: Target, userID: UUID, actor: Actor, action: String) throws {
        if userID == actor.userID {
            throw RPCError(.failedPrecondition, "you cannot \(action) yourself")
        }
        if target.role == .owner {
            throw RPCError(.failedPrecondition, "nobody can \(action) the owner")
        }
        if target.role == .admin && actor.role < .owner {
            throw RPCError(.permissionDenied, "only the owner may \(action) an ADMIN")
        }
    }

    private static func member(id: UUID, email: String, role: String, createdAt: Date) -> Pixecom_Auth_V1_Member {
        var member = Pixecom_Auth_V1_Member()
        member.userID = id.uuidString.lowercased()
        member.email = email
        member.role = role
        member.createdAt = RequestValidation.timestamp(createdAt)
        return member
    }
}
