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
/// Keys rotate on a schedule, with overlap at both ends:
/// - **Ahead.** The next key is made `prepublication` (twice the reload interval) before its turn
///   and published from then on, so every replica has loaded it and every verifier can fetch it
///   before any token carries its `kid`.
/// - **Behind.** A key signs until a newer key activates (each replica switches by the clock, not
///   at its next reload) and stays published until the last token it signed has expired.
///
/// `load` makes a key when none is active or the next one is due (under an advisory lock, so
/// replicas loading together make one between them) and reads the set; as a `Service` it reloads
/// every `reloadInterval`. A key an operator withdraws (`withdrawn_at`, for a key believed
/// exposed) is dropped at the next reload, and a fresh one takes over at once. Thread-safe.
final class SigningKeys: Service, Sendable {
    /// A key to sign with. The private key is held as its raw 32 bytes (swift-crypto's key types
    /// are not `Sendable`) and rebuilt per signature.
    struct SigningKey: Sendable {
        let kid: String
        let rawPrivateKey: Data
        /// From when it signs.
        let activatesAt: Date

        var privateKey: Curve25519.Signing.PrivateKey {
            get throws { try Curve25519.Signing.PrivateKey(rawRepresentation: self.rawPrivateKey) }
        }
    }

    /// How often keys rotate and how often each replica rereads the set.
    struct Schedule: Sendable {
        /// How long a key signs before the next one takes over. Default 30 days.
        var rotation: Duration = .seconds(30 * 24 * 3600)
        /// How often the set is reread. Default 60 s.
        var reload: Duration = .seconds(60)

        /// How long before its turn the next key is made and published: two reloads, so every
        /// replica publishes it before any signs with it.
        var prepublication: TimeInterval { 2 * self.reload.inSeconds }

        /// How long a key stays published after it stopped signing: until the last token it
        /// signed has expired (with the verifiers' leeway), plus a replica that missed a reload.
        var retention: TimeInterval {
            Double(AccessClaims.lifetimeSeconds + JWT.leewaySeconds) + self.prepublication + 60
        }
    }

    private struct Keyring: Sendable {
        /// Keys that sign now or will, newest turn first.
        var signing: [SigningKey] = []
        var published: [String: Data] = [:]
    }

    private static let lockKey: Int64 = 0x7069_7865_636f_6d02

    private let db: PostgresClient
    private let secrets: AuthSecrets
    private let logger: Logger
    private let schedule: Schedule
    private let keyring = NIOLockedValueBox(Keyring())

    init(db: PostgresClient, secrets: AuthSecrets, logger: Logger, schedule: Schedule = Schedule()) {
        self.db = db
        self.secrets = secrets
        self.logger = logger
        self.schedule = schedule
    }

    /// The key to sign with now: the one whose turn began last.
    func current() throws -> SigningKey {
        let now = Date()
        guard let key = self.keyring.withLockedValue({ $0.signing.first { $0.activatesAt <= now } }) else {
            throw RPCError(.unavailable, "no signing key loaded yet")
        }
        return key
    }

    /// Every key a valid token may carry, and the next one: raw 32-byte public keys by key id.
    func published() -> [String: Data] {
        self.keyring.withLockedValue { $0.published }
    }

    func run() async throws {
        // The wait between reloads ends at once on graceful shutdown.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.schedule.reload)
                do {
                    try await self.load()
                } catch {
                    // Keep signing with what is loaded; the next round tries again.
                    self.logger.warning("signing_keys.reload_failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
    }

    /// Brings the stored keys up to the schedule (a key for now, the next one when it is due,
    /// the end of a key whose successor has taken over), then reads the set.
    func load() async throws {
        let now = Date()
        let rows = try await self.db.withTransaction(logger: self.logger) { connection in
            // A transaction-scoped lock: released at commit or rollback, whatever happens.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: self.logger)
            let stored = try await self.rows(on: connection)
            let live = stored.filter { $0.withdrawnAt == nil && $0.retiredAt == nil }
            let started = live.filter { $0.activatesAt <= now }
            var changed = started.count > 1
            if let newest = started.first {
                for superseded in started.dropFirst() {
                    try await connection.query(
                        "UPDATE signing_keys SET retired_at = \(newest.activatesAt) WHERE kid = \(superseded.kid)", logger: self.logger)
                    self.logger.info("signing_key.retired", metadata: ["key.id": "\(superseded.kid)", "key.successor": "\(newest.kid)"])
                }
            }
            let turn = started.first?.activatesAt ?? now
            if started.isEmpty {
                try await self.insertNewKey(activatingAt: now, on: connection)
                changed = true
            }
            if !live.contains(where: { $0.activatesAt > now }) {
                let due = turn.addingTimeInterval(self.schedule.rotation.inSeconds)
                if due.timeIntervalSince(now) <= self.schedule.prepublication {
                    try await self.insertNewKey(
                        activatingAt: max(due, now.addingTimeInterval(self.schedule.prepublication)), on: connection)
                    changed = true
                }
            }
            // Read again only what this round changed.
            return changed ? try await self.rows(on: connection) : stored
        }
        var keyring = Keyring()
        let horizon = now.addingTimeInterval(-self.schedule.retention)
        for row in rows where row.withdrawnAt == nil {
            if let retiredAt = row.retiredAt {
                if retiredAt > horizon { keyring.published[row.kid] = row.publicKey }
                continue
            }
            keyring.published[row.kid] = row.publicKey
            keyring.signing.append(
                SigningKey(kid: row.kid, rawPrivateKey: try self.unseal(row).rawRepresentation, activatesAt: row.activatesAt))
        }
        self.keyring.withLockedValue { $0 = keyring }
    }

    private struct Row {
        let kid: String
        let publicKey: Data
        let sealed: Data
        let activatesAt: Date
        let retiredAt: Date?
        let withdrawnAt: Date?
    }

    /// Every key, the latest turn first.
    private func rows(on connection: PostgresConnection) async throws -> [Row] {
        let result = try await connection.query(
            """
            SELECT kid, public_key, sealed_private, activates_at, retired_at, withdrawn_at
            FROM signing_keys ORDER BY activates_at DESC, kid
            """,
            logger: self.logger
        )
        var rows: [Row] = []
        for try await (kid, publicKey, sealed, activatesAt, retiredAt, withdrawnAt) in result.decode(
            (String, Data, Data, Date, Date?, Date?).self)
        {
            rows.append(
                Row(
                    kid: kid, publicKey: publicKey, sealed: sealed, activatesAt: activatesAt, retiredAt: retiredAt, withdrawnAt: withdrawnAt
                ))
        }
        return rows
    }

    private func insertNewKey(activatingAt activatesAt: Date, on connection: PostgresConnection) async throws {
        let key = Curve25519.Signing.PrivateKey()
        let kid = JWT.keyID(for: key.publicKey)
        let sealed = try AES.GCM.seal(key.rawRepresentation, using: self.secrets.signingKeySeal, authenticating: Data(kid.utf8))
        guard let combined = sealed.combined else { throw RPCError(.internal, "could not seal a signing key") }
        try await connection.query(
            """
            INSERT INTO signing_keys (kid, public_key, sealed_private, activates_at)
            VALUES (\(kid), \(key.publicKey.rawRepresentation), \(combined), \(activatesAt))
            """,
            logger: self.logger
        )
        self.logger.info("signing_key.created", metadata: ["key.id": "\(kid)", "key.activates_at": "\(activatesAt)"])
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
