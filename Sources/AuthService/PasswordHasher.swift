import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import RPCKit
import ServiceKit
import ServiceLifecycle
import _CryptoExtras

/// Hashes and verifies passwords with scrypt on a small pool of dedicated threads, never on the
/// event loops or the cooperative executor: one hash costs about 128 MiB and a noticeable fraction
/// of a second, and must not stall other calls.
///
/// The threads run at idle priority (Linux SCHED_IDLE) unless configured otherwise: a login flood
/// that keeps them busy takes only CPU time that serving calls leave over, so token-authenticated
/// calls keep their latency (docs/PERFORMANCE.md). Logins then wait for spare CPU, and under
/// their deadline fail rather than slow everything else.
///
/// The pool is bounded twice: `threads` hashes run at once and at most `maxQueued` wait; beyond
/// that a call is refused with RESOURCE_EXHAUSTED (with a retry delay) rather than queueing without
/// limit. Thread-safe. As a `Service` it shuts the pool down after graceful shutdown, once work in
/// progress has finished.
///
/// Work is done only for a caller still waiting: a call that has ended (cancelled by its caller,
/// or past its deadline, `ServerContext.deadline`) starts no hash, and a hash queued behind
/// others is dropped when a thread comes free for it if its call ended meanwhile. (A hash that
/// has started runs to its end: scrypt cannot be interrupted.) On a saturated host
/// the queue otherwise fills with hashes for callers that were answered 504 long ago, each
/// costing a full hash and delaying the live ones behind it.
final class PasswordHasher: Service, Sendable {
    struct Configuration: Sendable {
        var threads: Int = 2
        var maxQueued: Int = 64
        /// Run hashes under SCHED_IDLE (Linux): they get only the CPU that nothing else wants.
        var idlePriority: Bool = true
        var parameters: PasswordHash.Parameters = .owasp
    }

    private let configuration: Configuration
    private let pool: NIOThreadPool
    private let admitted = NIOLockedValueBox(0)
    private let counts = NIOLockedValueBox(Counts())
    private let logger: Logger
    /// Verified against when the e-mail is unknown, so that an unknown user costs as much time as a
    /// wrong password and timing reveals nothing.
    private let decoy: PasswordHash

    init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = NIOThreadPool(numberOfThreads: configuration.threads)
        self.pool.start()
        self.decoy = PasswordHash(
            parameters: configuration.parameters,
            salt: SecureRandom.bytes(16),
            hash: SecureRandom.bytes(32)
        )
    }

    /// What the pool did: hashes computed, and hashes dropped because their call had ended
    /// before a thread took them.
    struct Counts: Sendable, Equatable {
        var performed = 0
        var dropped = 0
    }

    var counted: Counts { self.counts.withLockedValue { $0 } }

    /// Calls admitted to the pool (running or queued).
    var admittedCount: Int { self.admitted.withLockedValue { $0 } }

    /// A new hash of `password` under the current parameters, with a fresh random salt.
    func hash(_ password: String) async throws -> PasswordHash {
        let parameters = self.configuration.parameters
        let salt = SecureRandom.bytes(16)
        let derived = try await self.run { try Self.scrypt(password, salt: salt, parameters: parameters) }
        return PasswordHash(parameters: parameters, salt: salt, hash: derived)
    }

    /// Whether `password` matches `stored` (compared in constant time). With `stored` nil (no such
    /// user) it still spends the time of one verification and answers false.
    func verify(_ password: String, against stored: PasswordHash?) async throws -> Bool {
        let target = stored ?? self.decoy
        let derived = try await self.run {
            try Self.scrypt(password, salt: target.salt, parameters: target.parameters, length: target.hash.count)
        }
        return stored != nil && ConstantTime.equal(derived, target.hash)
    }

    /// True when `stored` was made under other parameters than the current ones.
    func needsUpgrade(_ stored: PasswordHash) -> Bool {
        stored.parameters != self.configuration.parameters
    }

    func run() async throws {
        try? await gracefulShutdown()
        // Logins in progress finish before the threads go away (bounded by their own deadlines).
        for _ in 0..<300 where self.admitted.withLockedValue({ $0 }) > 0 {
            try? await Task.sleep(for: .milliseconds(100))
        }
        try await self.pool.shutdownGracefully()
    }

    /// Runs `work` on the pool for the call being served (`ServerContext.current`), unless that
    /// call ends first. Internal, not private, so tests can occupy the pool.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let deadline = ServerContext.current?.deadline
        if let ended = Self.callEnded(cancelled: Task.isCancelled, deadline: deadline) { throw ended }
        let limit = self.configuration.threads + self.configuration.maxQueued
        let admitted = self.admitted.withLockedValue { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            self.logger.warning("password_hashing.saturated", metadata: ["hashing.limit": "\(limit)"])
            throw RPCError(.resourceExhausted, "too many logins in progress; try again shortly", retryDelayMillis: 1000)
        }
        defer { self.admitted.withLockedValue { $0 -= 1 } }
        let idlePriority = self.configuration.idlePriority
        let counts = self.counts
        do {
            // The pool skips the work of a task cancelled while it waited (CancellationError).
            // The deadline is checked when a thread takes the work: the server cancels a call at
            // its deadline, but on a saturated host its timer may fire late.
            return try await self.pool.runIfActive {
                if let ended = Self.callEnded(cancelled: false, deadline: deadline) {
                    counts.withLockedValue { $0.dropped += 1 }
                    throw ended
                }
                counts.withLockedValue { $0.performed += 1 }
                if idlePriority { Self.useIdlePriority() }
                return try work()
            }
        } catch is CancellationError {
            counts.withLockedValue { $0.dropped += 1 }
            throw RPCError(.cancelled, "the call was cancelled before its password hash started")
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "password hashing is not available: the service is shutting down")
        }
    }

    /// The error for a call that has ended, nil while its caller still waits.
    private static func callEnded(cancelled: Bool, deadline: ContinuousClock.Instant?) -> RPCError? {
        if cancelled { return RPCError(.cancelled, "the call was cancelled before its password hash started") }
        if let deadline, ContinuousClock.now >= deadline {
            return RPCError(.deadlineExceeded, "the call's deadline passed before its password hash started")
        }
        return nil
    }

    /// Puts the calling thread under SCHED_IDLE (a no-op after the first time on each thread, as
    /// far as the outcome goes; a syscall is nothing next to a hash). Failure leaves the thread as
    /// it was: hashing still works, only without the priority.
    private static func useIdlePriority() {
        #if os(Linux)
            var parameters = sched_param()
            parameters.sched_priority = 0
            // SCHED_IDLE from <linux/sched.h>; Glibc exposes it only to C code built with _GNU_SOURCE.
            let schedIdle: Int32 = 5
            _ = sched_setscheduler(0, schedIdle, &parameters)
        #endif
    }

    static func scrypt(_ password: String, salt: [UInt8], parameters: PasswordHash.Parameters, length: Int = 32) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8),
            salt: salt,
            outputByteCount: length,
            rounds: 1 << parameters.logN,
            blockSize: parameters.r,
            parallelism: parameters.p,
            maxMemory: parameters.memoryBytes + 1024 * 1024
        )
        return key.withUnsafeBytes { Array($0) }
    }
}
