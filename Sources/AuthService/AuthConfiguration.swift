import ServiceKit

/// AuthService's own settings, read once at start. Every failure names its variable.
struct AuthConfiguration: Sendable {
    /// `PIXECOM_AUTH_TOKEN_HASH_KEY` (or `_FILE`), at least 32 characters: the root secret from
    /// which the refresh-token hash key and the signing-key seal are derived.
    var tokenHashKey: String
    var passwordHashing: PasswordHasher.Configuration
    var refreshLifetimes: RefreshTokenStore.Lifetimes
    var loginThrottle: LoginThrottle.Configuration
    var signingKeys: SigningKeys.Schedule
    /// `PIXECOM_AUTH_DEMO_SEED_FILE`: in development, create a demo seller with a random password
    /// once and write its credentials to this file (mode 0600). Production refuses it.
    var demoSeedFile: String?

    init(environment: EnvironmentReader, mode: ServiceConfiguration.Mode) throws {
        self.tokenHashKey = try environment.secret("PIXECOM_AUTH_TOKEN_HASH_KEY", minimumLength: 32)
        self.demoSeedFile = environment.string("PIXECOM_AUTH_DEMO_SEED_FILE").flatMap { $0.isEmpty ? nil : $0 }
        self.passwordHashing = PasswordHasher.Configuration(
            // `PIXECOM_AUTH_HASH_THREADS`: hashes computed at once (default 2). Each scrypt at the
            // OWASP parameters holds 128 MiB while it runs.
            threads: try environment.int("PIXECOM_AUTH_HASH_THREADS", default: 2, range: 1...64),
            // `PIXECOM_AUTH_HASH_QUEUE`: hashes waiting for a thread before logins are refused with
            // RESOURCE_EXHAUSTED (default 64).
            maxQueued: try environment.int("PIXECOM_AUTH_HASH_QUEUE", default: 64, range: 1...100_000),
            // `PIXECOM_AUTH_HASH_IDLE_PRIORITY`: 1 (default) runs hashes under the SCHED_IDLE
            // policy, so they only get CPU that serving calls leave over; 0 gives them an equal
            // share (logins then slow every other call on a saturated host).
            idlePriority: try environment.int("PIXECOM_AUTH_HASH_IDLE_PRIORITY", default: 1, range: 0...1) == 1,
            // `PIXECOM_AUTH_SCRYPT_LOG_N`: scrypt's cost, N = 2^value (default 17, the OWASP
            // setting). Lower only for development and tests, where dozens of hashes run at once
            // on a laptop; production refuses anything below 17.
            parameters: PasswordHash.Parameters(
                logN: try environment.int("PIXECOM_AUTH_SCRYPT_LOG_N", default: 17, range: 10...20), r: 8, p: 1)
        )
        self.refreshLifetimes = RefreshTokenStore.Lifetimes(
            // `PIXECOM_AUTH_REFRESH_IDLE_HOURS` (default 14 days) and
            // `PIXECOM_AUTH_REFRESH_ABSOLUTE_HOURS` (default 30 days).
            idle: .seconds(3600 * (try environment.int("PIXECOM_AUTH_REFRESH_IDLE_HOURS", default: 14 * 24, range: 1...(365 * 24)))),
            absolute: .seconds(
                3600 * (try environment.int("PIXECOM_AUTH_REFRESH_ABSOLUTE_HOURS", default: 30 * 24, range: 1...(365 * 24)))),
            // `PIXECOM_AUTH_REFRESH_OVERLAP_SECONDS` (default 10, at most 60; 0 turns it off).
            overlap: .seconds(try environment.int("PIXECOM_AUTH_REFRESH_OVERLAP_SECONDS", default: 10, range: 0...60))
        )
        self.loginThrottle = LoginThrottle.Configuration(
            // `PIXECOM_AUTH_LOCKOUT_BASE_SECONDS` (default 30): the first lockout, doubled by each
            // further failure up to `PIXECOM_AUTH_LOCKOUT_MAX_SECONDS` (default 900).
            baseLockout: .seconds(try environment.int("PIXECOM_AUTH_LOCKOUT_BASE_SECONDS", default: 30, range: 1...3600)),
            maxLockout: .seconds(try environment.int("PIXECOM_AUTH_LOCKOUT_MAX_SECONDS", default: 15 * 60, range: 1...(24 * 3600)))
        )
        if self.loginThrottle.maxLockout < self.loginThrottle.baseLockout {
            throw ConfigurationError(
                variable: "PIXECOM_AUTH_LOCKOUT_MAX_SECONDS", problem: "must not be less than PIXECOM_AUTH_LOCKOUT_BASE_SECONDS")
        }
        self.signingKeys = SigningKeys.Schedule(
            // `PIXECOM_AUTH_SIGNING_KEY_ROTATION_SECONDS` (default 30 days): how long a signing key
            // signs before the next one takes over.
            rotation: .seconds(
                try environment.int("PIXECOM_AUTH_SIGNING_KEY_ROTATION_SECONDS", default: 30 * 24 * 3600, range: 4...(365 * 24 * 3600))),
            // `PIXECOM_AUTH_SIGNING_KEY_RELOAD_SECONDS` (default 60): how often each replica rereads
            // the key set; the next key is published two reloads before its turn.
            reload: .seconds(try environment.int("PIXECOM_AUTH_SIGNING_KEY_RELOAD_SECONDS", default: 60, range: 1...3600))
        )
        if self.signingKeys.rotation < self.signingKeys.reload * 4 {
            throw ConfigurationError(
                variable: "PIXECOM_AUTH_SIGNING_KEY_ROTATION_SECONDS",
                problem: "must be at least 4 times PIXECOM_AUTH_SIGNING_KEY_RELOAD_SECONDS")
        }
        if self.refreshLifetimes.idle > self.refreshLifetimes.absolute {
            throw ConfigurationError(
                variable: "PIXECOM_AUTH_REFRESH_IDLE_HOURS",
                problem: "must not exceed PIXECOM_AUTH_REFRESH_ABSOLUTE_HOURS"
            )
        }
        if mode == .production {
            if self.passwordHashing.parameters.logN < PasswordHash.Parameters.owasp.logN {
                throw ConfigurationError(
                    variable: "PIXECOM_AUTH_SCRYPT_LOG_N", problem: "must be at least 17 (OWASP) in production")
            }
            if self.demoSeedFile != nil {
                throw ConfigurationError(
                    variable: "PIXECOM_AUTH_DEMO_SEED_FILE", problem: "a demo seed is for development only; unset it in production")
            }
            if let weakness = Self.weakness(of: self.tokenHashKey) {
                throw ConfigurationError(
                    variable: "PIXECOM_AUTH_TOKEN_HASH_KEY",
                    problem: "\(weakness); in production use a random value (openssl rand -base64 48)")
            }
        }
    }

    /// Why a secret looks like a placeholder or a hand-typed value rather than random bytes; nil
    /// when it does not.
    static func weakness(of secret: String) -> String? {
        let lowered = secret.lowercased()
        for placeholder in ["change", "example", "default", "secret", "password", "test", "demo", "sample"]
        where lowered.contains(placeholder) {
            return "looks like a placeholder (contains \"\(placeholder)\")"
        }
        if Set(secret).count < 12 {
            return "has too few distinct characters to be random"
        }
        return nil
    }
}
