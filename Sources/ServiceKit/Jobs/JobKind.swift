import Foundation
import Logging

/// One kind of background job: the arguments it carries, how it is retried, and what it does.
///
/// A kind is registered with the service's `JobRunner`; jobs of it are enqueued with
/// `Jobs.enqueue` inside the transaction of the change that calls for them. A job runs at least
/// once and, after a crash, possibly again: `run` must be idempotent (record its effect keyed by
/// something the job carries, in the same transaction as the effect).
public protocol JobKind: Sendable {
    /// What a job of this kind carries, stored as JSON in `jobs.args` (operators read it).
    associatedtype Args: Codable & Sendable

    /// The name stored in `jobs.kind`. Never rename a kind that has jobs waiting: a runner claims
    /// only the kinds it knows, so the old name's jobs would wait for ever.
    static var name: String { get }
    /// The queue its jobs go to unless the enqueue says otherwise.
    static var queue: String { get }
    /// Attempts before the job is discarded (dead).
    static var maxAttempts: Int { get }
    /// The wait before retry number n: capped, jittered exponential.
    static var backoff: JobBackoff { get }
    /// How long one attempt may run; past it the attempt is cancelled and counts as failed.
    static var timeout: Duration { get }

    /// Does the job. Return `.completed`, or `.snooze` / `.cancel`; throw to fail the attempt
    /// (it is retried after the backoff until the attempts run out), or throw `JobFailure.discard`
    /// to end it at once in the dead state.
    func run(_ job: JobContext<Args>) async throws -> JobOutcome
}

extension JobKind {
    public static var queue: String { "default" }
    public static var maxAttempts: Int { 20 }
    public static var backoff: JobBackoff { JobBackoff() }
    public static var timeout: Duration { .seconds(60) }
}

/// What a handler sees of its job.
public struct JobContext<Args: Sendable>: Sendable {
    public let id: Int64
    public let kind: String
    public let queue: String
    public let args: Args
    /// This attempt's number, from 1.
    public let attempt: Int
    public let maxAttempts: Int
    public let sellerID: UUID?
    /// Carries `job.id`, `job.kind` and `job.attempt`.
    public let logger: Logger
}

/// How an attempt ended, when it did not throw.
public enum JobOutcome: Sendable, Equatable {
    case completed
    /// Run again after `Duration`; the attempt is given back (it does not count).
    case snooze(Duration)
    /// Stop for good, not as a failure (the work is no longer wanted); the reason is kept.
    case cancel(reason: String)
}

/// Thrown by a handler to end its job at once in the dead state (an error no retry can fix,
/// such as arguments that name something that does not exist).
public struct JobFailure: Error, CustomStringConvertible {
    public let reason: String
    public static func discard(_ reason: String) -> JobFailure { JobFailure(reason: reason) }
    public var description: String { self.reason }
}

/// Capped exponential backoff with jitter: retry n (n >= 1) waits a random time between half and
/// all of `min(cap, base * 2^(n-1))`, so that jobs failing together do not retry together.
public struct JobBackoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(3600)) {
        precondition(base > .zero && cap >= base, "backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the wait before retry `retry` (1 for the first retry), before jitter.
    public func ceiling(retry: Int) -> Duration {
        let exponent = Double(min(max(retry, 1) - 1, 62))
        let seconds = min(self.cap.inSeconds, self.base.inSeconds * pow(2, exponent))
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// The wait before retry `retry`, jittered into [ceiling/2, ceiling].
    public func delay(retry: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = self.ceiling(retry: retry).inSeconds
        return .milliseconds(Int64((Double.random(in: (ceiling / 2)...ceiling, using: &random) * 1000).rounded()))
    }
}
