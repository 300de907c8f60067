#if canImport(Glibc)
    internal import Glibc
#else
    internal import Darwin
#endif

/// When and how a failed call is tried again. Defaults follow gRPC's retry design (gRFC A6).
///
/// Two kinds of retry:
/// - a call that provably never reached a handler (refused by a draining server, a connection that
///   could not be opened, an endpoint refusing it before processing) is retried on another replica
///   whatever the method, since nothing happened;
/// - a call that may have been processed is retried only when its method is declared idempotent
///   and it failed with a code in `retryableCodes`.
/// A retry of the second kind waits a capped, fully jittered exponential backoff (or the server's
/// retry delay, when it gave one), stays within the call's deadline, and needs the `RetryThrottle`
/// to allow it. A retry of the first kind costs no token and waits only when the refusing server
/// asked for a delay; both kinds count against `maxAttempts`.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (gRPC caps this at 5).
    public var maxAttempts: Int = 5
    public var initialBackoff: Duration = .milliseconds(50)
    public var maxBackoff: Duration = .seconds(1)
    public var backoffMultiplier: Double = 2
    /// Codes after which an idempotent call is retried.
    public var retryableCodes: Set<RPCError.Code> = [.unavailable, .resourceExhausted]

    public init() {}

    /// No retries at all (not even of unprocessed calls).
    public static var none: RetryPolicy {
        var policy = RetryPolicy()
        policy.maxAttempts = 1
        return policy
    }

    /// The wait before attempt `attempt` (2 for the first retry): uniformly random in
    /// `0 ... min(initial * multiplier^(attempt-2), max)`.
    public func backoff(beforeAttempt attempt: Int, random: Double) -> Duration {
        let exponent = Double(max(0, attempt - 2))
        let cap = min(
            Double(self.maxBackoff.nanoseconds),
            Double(self.initialBackoff.nanoseconds) * pow(self.backoffMultiplier, exponent)
        )
        return .nanoseconds(Int64(cap * min(1, max(0, random))))
    }
}

/// Retry throttling (gRFC A6): a token bucket shared by all calls of a client. Each failure takes a
/// token, each success gives back `tokenRatio`; retries are allowed only while more than half the
/// tokens remain. In an outage the bucket drains and retries stop, so retries can never multiply
/// the load on a struggling service by more than a small fraction.
public struct RetryThrottle: Sendable, Hashable {
    public var maxTokens: Double = 10
    public var tokenRatio: Double = 0.1
    private(set) var tokens: Double

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = maxTokens
        self.tokenRatio = tokenRatio
        self.tokens = maxTokens
    }

    public var allowsRetry: Bool { self.tokens > self.maxTokens / 2 }

    public mutating func recordFailure() {
        self.tokens = max(0, self.tokens - 1)
    }

    public mutating func recordSuccess() {
        self.tokens = min(self.maxTokens, self.tokens + self.tokenRatio)
    }
}
