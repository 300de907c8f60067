import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// API keys: `pxk_<public id>_<secret>`, shown once, stored only as an HMAC of the whole key,
/// scoped READ (acts as VIEWER), FULL (acts as EDITOR) or ASSETS (acts as EDITOR on the asset
/// methods only), revocable, with their last use.
///
/// The public id is random and says nothing about the tenant: `api_key_ids` maps it to its seller,
/// whose scope the key is then looked up in. Keys made before that (a public id of the seller id
/// in hex plus 6 hex digits) still name their seller and keep working.
struct ApiKeyStore: Sendable {
    static let prefix = ApiKeyFormat.prefix

    enum Scope: String, Sendable {
        case read = "READ"
        case full = "FULL"
        case assets = "ASSETS"

        /// The role a key's access tokens carry. No key reaches ADMIN: keys never manage members
        /// or keys, so a leaked key cannot make itself permanent.
        var role: Role { self == .read ? .viewer : .editor }

        /// The narrow scope a key's tokens carry (`scp`), limiting them to the methods whose
        /// contract names it; nil when the role alone limits them.
        var tokenScope: String? { self == .assets ? self.rawValue : nil }
    }

    /// A key that was presented and is live.
    struct Holder: Sendable {
        let id: UUID
        let sellerID: UUID
        let scope: Scope
        let plan: String
    }

    let db: PostgresClient
    let secrets: AuthSecrets
    let audit: AuditLog

    func create(name: String, scope: Scope, by actor: MemberStore.Actor, logger: Logger) async throws -> Pixecom_Auth_V1_CreatedApiKey {
        let id = UUID()
        let publicID = Self.newPublicID()
        let key = Self.prefix + publicID + "_" + JWT.base64URL(SecureRandom.bytes(32))
        let hash = self.secrets.tokenHash(key)
        let createdAt = try await self.db.withSeller(actor.sellerID, logger: logger) { connection -> Date in
            try await connection.query(
                "INSERT INTO api_key_ids (public_id, seller_id) VALUES (\(publicID), \(actor.sellerID))",
                logger: logger
            )
            let rows = try await connection.query(
                """
                INSERT INTO api_keys (seller_id, id, public_id, name, scope, key_hash, created_by)
                VALUES (\(actor.sellerID), \(id), \(publicID), \(name), \(scope.rawValue), \(hash), \(actor.userID))
                RETURNING created_at
                """,
                logger: logger
            )
            var createdAt = Date()
            for try await value in rows.decode(Date.self) { createdAt = value }
            try await self.audit.record(
                .init(
                    sellerID: actor.sellerID, kind: "api_key.created", actor: actor.userID, subject: nil,
                    sourceAddress: actor.sourceAddress, details: ["key": id.uuidString.lowercased(), "scope": scope.rawValue]),
                on: connection, logger: logger
            )
            return createdAt
        }
        var created = Pixecom_Auth_V1_CreatedApiKey()
        created.apiKey = Self.proto(
            id: id, publicID: publicID, name: name, scope: scope.rawValue, createdAt: createdAt, lastUsedAt: nil, revokedAt: nil)
        created.key = key
        return created
    }

    func list(sellerID: UUID, logger: Logger) async throws -> [Pixecom_Auth_V1_ApiKey] {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, public_id, name, scope, created_at, last_used_at, revoked_at
                FROM api_keys WHERE seller_id = \(sellerID) ORDER BY created_at, id
                """,
                logger: logger
            )
            var keys: [Pixecom_Auth_V1_ApiKey] = []
            for try await (id, publicID, name, scope, createdAt, lastUsed, revoked) in rows.decode(
                (UUID, String, String, String, Date, Date?, Date?).self)
            {
                keys.append(
                    Self.proto(
                        id: id, publicID: publicID, name: name, scope: scope, createdAt: createdAt, lastUsedAt: lastUsed, revokedAt: revoked
                    ))
            }
            return keys
        }
    }

    /// Revokes a key of the actor's seller (again: no change). NOT_FOUND for another seller's key.
    func revoke(_ id: UUID, by actor: MemberStore.Actor, logger: Logger) async throws -> Pixecom_Auth_V1_ApiKey {
        try await self.db.withSeller(actor.sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                WHERE seller_id = \(actor.sellerID) AND id = \(id)
                RETURNING public_id, name, scope, created_at, last_used_at, revoked_at
                """,
                logger: logger
            )
            for try await (publicID, name, scope, createdAt, lastUsed, revoked) in rows.decode(
                (String, String, String, Date, Date?, Date?).self)
            {
                try await self.audit.record(
                    .init(
                        sellerID: actor.sellerID, kind: "api_key.revoked", actor: actor.userID, subject: nil,
                        sourceAddress: actor.sourceAddress, details: ["key": id.uuidString.lowercased()]),
                    on: connection, logger: logger
                )
                return Self.proto(
                    id: id, publicID: publicID, name: name, scope: scope, createdAt: createdAt, lastUsedAt: lastUsed, revokedAt: revoked)
            }
            throw RPCError(.notFound, "API key \(id.uuidString.lowercased()) not found")
        }
    }

    /// The live key `key`, with its last use recorded (the edge exchanges a key about once a
    /// minute while it is in use). UNAUTHENTICATED when it
    /// is unknown or revoked.
    func use(_ key: String, logger: Logger) async throws -> Holder {
        guard key.hasPrefix(Self.prefix), key.utf8.count <= 128, let keySeller = try await self.seller(of: key, logger: logger) else {
            throw RPCError(.unauthenticated, "API key is not valid")
        }
        let hash = self.secrets.tokenHash(key)
        let holder = try await self.db.withSeller(keySeller, logger: logger) { connection -> Holder? in
            let rows = try await connection.query(
                """
                UPDATE api_keys k SET last_used_at = now()
                FROM sellers s
                WHERE k.key_hash = \(hash) AND k.revoked_at IS NULL AND s.id = k.seller_id
                RETURNING k.id, k.seller_id, k.scope, s.plan
                """,
                logger: logger
            )
            for try await (id, sellerID, scope, plan) in rows.decode((UUID, UUID, String, String).self) {
                return Holder(id: id, sellerID: sellerID, scope: Scope(rawValue: scope) ?? .read, plan: plan)
            }
            return nil
        }
        guard let holder else { throw RPCError(.unauthenticated, "API key is not valid (unknown or revoked)") }
        return holder
    }

    /// The public part of a new key: 12 random bytes in hex, naming the key and not its seller.
    static func newPublicID() -> String {
        SecureRandom.bytes(12).map { String(format: "%02x", $0) }.joined()
    }

    /// The seller of `key`, before any seller's scope is open: from `api_key_ids`, or, for a key
    /// made before random ids, from the seller id its public id begins with. nil when the key is
    /// malformed or unknown.
    func seller(of key: String, logger: Logger) async throws -> UUID? {
        let publicID = String(key.dropFirst(Self.prefix.count).prefix { $0 != "_" })
        if let legacy = Self.legacySeller(publicID: publicID) { return legacy }
        guard publicID.utf8.count == 24, publicID.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return nil
        }
        let rows = try await self.db.query("SELECT seller_id FROM api_key_ids WHERE public_id = \(publicID)", logger: logger)
        var seller: UUID?
        for try await value in rows.decode(UUID.self) { seller = value }
        return seller
    }

    /// The seller a key made before random public ids names: its public id is the seller id in
    /// hex and 6 hex digits. nil for any other public id.
    static func legacySeller(publicID: String) -> UUID? {
        guard publicID.count == 38, publicID.allSatisfy(\.isHexDigit) else { return nil }
        let hex = Array(publicID.prefix(32))
        let text =
            String(hex[0..<8]) + "-" + String(hex[8..<12]) + "-" + String(hex[12..<16]) + "-" + String(hex[16..<20]) + "-"
            + String(hex[20..<32])
        return UUID(uuidString: text)
    }

    private static func proto(
        id: UUID, publicID: String, name: String, scope: String, createdAt: Date, lastUsedAt: Date?, revokedAt: Date?
    ) -> Pixecom_Auth_V1_ApiKey {
        var key = Pixecom_Auth_V1_ApiKey()
        key.id = id.uuidString.lowercased()
        key.name = name
        key.scope = scope
        key.prefix = Self.prefix + publicID
        key.createdAt = RequestValidation.timestamp(createdAt)
        key.lastUsedAt = lastUsedAt.map(RequestValidation.timestamp) ?? ""
        key.revokedAt = revokedAt.map(RequestValidation.timestamp) ?? ""
        return key
    }
}
