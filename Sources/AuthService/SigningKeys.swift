import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import RPCKit
import ServiceKit
import ServiceLifecycle

/// The Ed25519 keys that sign access tokens, kept in the auth database so every replica signs with
/// the same key and publishes the same set.
///
/// `load` makes a first key when there is none (under an advisory lock, so replicas starting
/// together make one between them) and reads the set; as a `Service` it reloads the set every
/// `reloadInterval`, so a key added by another replica is used and published everywhere.
/// Thread-safe.
final class SigningKeys: Service, Sendable {
    /// A key to sign with. The private key is held as its raw 32 bytes (swift-crypto's key types
    /// are not `Sendable`) and rebuilt per signature.
    struct SigningKey: Sendable {
        let kid: String
        let rawPrivateKey: Data

        var privateKey: Curve25519.Signing.PrivateKey {
            get throws { try Curve25519.Signing.PrivateKey(rawRepresentation: self.rawPrivateKey) }
        }
    }

    private struct Keyring: Sendable {
        var current: SigningKey?
        var published: [String: Data] = [:]
    }

    private static let lockKey: Int64 = 0x7069_7865_636f_6d02

    private let db: PostgresClient
    private let secrets: AuthSecrets
    private let logger: Logger
    private let reloadInterval: Duration
    private let keyring = NIOLockedValueBox(Keyring())

    init(db: PostgresClient, secrets: AuthSecrets, logger: Logger, reloadInterval: Duration = .seconds(60)) {
        self.db = db
        self.secrets = secrets
        self.logger = logger
        self.reloadInterval = reloadInterval
    }

    /// The key to sign with now.
    func current() throws -> SigningKey {
        guard let key = self.keyring.withLockedValue({ $0.current }) else {
            throw RPCError(.unavailable, "no signing key loaded yet")
        }
        return key
    }

    /// Every key whose tokens may still be valid: raw 32-byte public keys by key id.
    func published() -> [String: Data] {
        self.keyring.withLockedValue { $0.published }
    }

    func run() async throws {
        // The wait between reloads ends at once on graceful shutdown.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.reloadInterval)
                do {
                    try await self.load()
                } catch {
                    // Keep signing with what is loaded; the next round tries again.
                    self.logger.warning("signing_keys.reload_failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
    }

    /// Makes the first key when none is active, then reads the key set.
    func load() async throws {
        // A transaction-scoped lock: released at commit or rollback, whatever happens.
        try await self.db.withTransaction(logger: self.logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: self.logger)
            let rows = try await self.rows(on: connection)
            if !rows.contains(where: { $0.retiredAt == nil }) {
                try await self.insertNewKey(on: connection)
            }
        }
        let rows = try await self.db.withConnection { try await self.rows(on: $0) }
        var keyring = Keyring()
        // Tokens live 15 minutes: a key retired longer ago than that verifies nothing any more.
        let horizon = Date().addingTimeInterval(-Double(AccessClaims.lifetimeSeconds) - 60)
        for row in rows {
            if row.retiredAt == nil || row.retiredAt! > horizon {
                keyring.published[row.kid] = row.publicKey
            }
            if row.retiredAt == nil, keyring.current == nil {
                keyring.current = SigningKey(kid: row.kid, rawPrivateKey: try self.unseal(row).rawRepresentation)
            }
        }
        self.keyring.withLockedValue { $0 = keyring }
    }

    private struct Row {
        let kid: String
        let publicKey: Data
        let sealed: Data
        let retiredAt: Date?
    }

    /// Every key, newest first.
    private func rows(on connection: PostgresConnection) async throws -> [Row] {
        let result = try await connection.query(
            "SELECT kid, public_key, sealed_private, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
            logger: self.logger
        )
        var rows: [Row] = []
        for try await (kid, publicKey, sealed, retiredAt) in result.decode((String, Data, Data, Date?).self) {
            rows.append(Row(kid: kid, publicKey: publicKey, sealed: sealed, retiredAt: retiredAt))
        }
        return rows
    }

    private func insertNewKey(on connection: PostgresConnection) async throws {
        let key = Curve25519.Signing.PrivateKey()
        let kid = JWT.keyID(for: key.publicKey)
        let sealed = try AES.GCM.seal(key.rawRepresentation, using: self.secrets.signingKeySeal, authenticating: Data(kid.utf8))
        guard let combined = sealed.combined else { throw RPCError(.internal, "could not seal a signing key") }
        try await connection.query(
            "INSERT INTO signing_keys (kid, public_key, sealed_private) VALUES (\(kid), \(key.publicKey.rawRepresentation), \(combined))",
            logger: self.logger
        )
        self.logger.info("signing_key.created", metadata: ["key.id": "\(kid)"])
    }

    private func unseal(_ row: Row) throws -> Curve25519.Signing.PrivateKey {
        do {
            let box = try AES.GCM.SealedBox(combined: row.sealed)
            let raw = try AES.GCM.open(box, using: self.secrets.signingKeySeal, authenticating: Data(row.kid.utf8))
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            guard key.publicKey.rawRepresentation == row.publicKey else { throw SigningKeyError(kid: row.kid) }
            return key
        } catch {
            // Most likely PIXECOM_AUTH_TOKEN_HASH_KEY changed since the key was made.
            throw SigningKeyError(kid: row.kid)
        }
    }
}

/// A signing key in the database that this process cannot open.
struct SigningKeyError: Error, CustomStringConvertible {
    let kid: String
    var description: String {
        "signing key \(self.kid) cannot be unsealed: PIXECOM_AUTH_TOKEN_HASH_KEY differs from the one it was sealed with"
    }
}
