import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// Login throttling per account and per source address (OWASP): failures are counted per key in
/// the database, so every replica sees them; after `threshold` failures within `window` the key is
/// locked for `baseLockout`, doubling with each further failure up to `maxLockout`.
///
/// Accounts are keyed by the e-mail as typed (lower-cased), whether or not it exists, so a
/// lockout looks the same for an unknown address and a real one and reveals nothing.
struct LoginThrottle: Sendable {
    struct Configuration: Sendable {
        /// Failures per account before it locks. Default 5.
        var accountThreshold = 5
        /// Failures per source address before it locks (higher: many users share a NAT). Default 20.
        var addressThreshold = 20
        /// The first lockout; each further failure doubles it. Default 30 s.
        var baseLockout: Duration = .seconds(30)
        /// The longest lockout. Default 15 minutes.
        var maxLockout: Duration = .seconds(15 * 60)
        /// Failures older than this are forgotten. Default 15 minutes.
        var window: Duration = .seconds(15 * 60)
    }

    /// The keys one login attempt counts against.
    struct Keys: Sendable {
        let account: String
        let address: String

        init(email: String, sourceAddress: String) {
            self.account = "account:" + email
            self.address = "address:" + sourceAddress
        }
    }

    let db: PostgresClient
    let configuration: Configuration

    /// RESOURCE_EXHAUSTED with the seconds to wait when either key is locked now.
    func check(_ keys: Keys, logger: Logger) async throws {
        let rows = try await self.db.query(
            """
            SELECT max(locked_until) FROM login_throttle
            WHERE key IN (\(keys.account), \(keys.address)) AND locked_until > now()
            """,
            logger: logger
        )
        for try await lockedUntil in rows.decode(Date?.self) {
            if let lockedUntil { throw Self.lockedError(until: lockedUntil) }
        }
    }

    /// Counts a failed login against both keys. Returns the lockout it started, if any.
    @discardableResult
    func recordFailure(_ keys: Keys, logger: Logger) async throws -> Date? {
        let windowSeconds = self.configuration.window.inSeconds
        return try await self.db.withTransaction(logger: logger) { connection in
            var lockedUntil: Date?
            for (key, threshold) in [
                (keys.account, self.configuration.accountThreshold), (keys.address, self.configuration.addressThreshold),
            ] {
                let rows = try await connection.query(
                    """
                    INSERT INTO login_throttle AS t (key, failures, last_failure_at)
                    VALUES (\(key), 1, now())
                    ON CONFLICT (key) DO UPDATE SET
                        failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => \(windowSeconds))
                                        THEN 1 ELSE t.failures + 1 END,
                        last_failure_at = now()
                    RETURNING failures
                    """,
                    logger: logger
                )
                var failures = 0
                for try await count in rows.decode(Int.self) { failures = count }
                guard failures >= threshold else { continue }
                let lockout = self.lockout(afterFailures: failures, threshold: threshold)
                let until = Date().addingTimeInterval(lockout)
                try await connection.query(
                    "UPDATE login_throttle SET locked_until = \(until) WHERE key = \(key)",
                    logger: logger
                )
                lockedUntil = max(lockedUntil ?? until, until)
            }
            return lockedUntil
        }
    }

    /// A successful login clears its account's failures (not the address's: one good password
    /// must not reset the count of an address trying many accounts).
    func recordSuccess(_ keys: Keys, logger: Logger) async throws {
        try await self.db.query("DELETE FROM login_throttle WHERE key = \(keys.account)", logger: logger)
    }

    /// Seconds of lockout after `failures` failures: base at the threshold, doubling after.
    func lockout(afterFailures failures: Int, threshold: Int) -> TimeInterval {
        let base = self.configuration.baseLockout.inSeconds
        let maximum = self.configuration.maxLockout.inSeconds
        let doublings = min(max(0, failures - threshold), 30)
        return min(maximum, base * pow(2, Double(doublings)))
    }

    static func lockedError(until: Date) -> RPCError {
        let seconds = max(1, Int(until.timeIntervalSinceNow.rounded(.up)))
        var error = RPCError(.resourceExhausted, "too many failed logins; try again in \(seconds) seconds")
        error.retryDelayMillis = UInt64(seconds) * 1000
        return error
    }
}
