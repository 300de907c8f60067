import Foundation
import Logging
import PostgresNIO

/// The kinds a runner knows, by name, with their handlers behind one shape: arguments arrive as
/// JSON and are decoded to the kind's `Args` before its handler sees them.
public struct JobKinds: Sendable {
    struct Entry: Sendable {
        let name: String
        let queue: String
        let backoff: JobBackoff
        let timeout: Duration
        let run: @Sendable (_ json: String, _ job: ClaimedJob, _ logger: Logger) async throws -> JobOutcome
    }

    /// A kind enqueued on a schedule by the leader, with the arguments each run gets.
    struct Scheduled: Sendable {
        let kind: String
        let schedule: CronSchedule
        let enqueue: @Sendable (PostgresConnection, Logger) async throws -> Int64
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var scheduled: [Scheduled] = []

    public init() {}

    /// Registers `handler` for its kind. A second handler for the same name is a programming
    /// error and stops the process at startup.
    public mutating func register<Kind: JobKind>(_ handler: Kind) {
        precondition(self.entries[Kind.name] == nil, "job kind \(Kind.name) registered twice")
        self.entries[Kind.name] = Entry(
            name: Kind.name, queue: Kind.queue, backoff: Kind.backoff, timeout: Kind.timeout
        ) { json, job, logger in
            let args: Kind.Args
            do {
                args = try JSONDecoder().decode(Kind.Args.self, from: Data(json.utf8))
            } catch {
                throw JobFailure.discard("arguments do not decode as \(Kind.name)'s: \(error)")
            }
            return try await handler.run(
                JobContext(
                    id: job.id, kind: job.kind, queue: job.queue, args: args, attempt: job.attempt,
                    maxAttempts: job.maxAttempts, sellerID: job.sellerID, logger: logger))
        }
    }

    /// Registers `handler` and has the leader enqueue a job of its kind with `args` at each time
    /// of `schedule` (UTC), once per scheduled time however many replicas run. A time missed
    /// while no leader ran is not made up for, except the latest: see `JobRunner.enqueueCronRuns`.
    public mutating func register<Kind: JobKind>(_ handler: Kind, schedule: CronSchedule, args: Kind.Args) throws {
        try Jobs.validate(Kind.self, args, JobOptions())
        self.register(handler)
        self.scheduled.append(
            Scheduled(kind: Kind.name, schedule: schedule) { connection, logger in
                try await Jobs.enqueue(Kind.self, args, JobOptions(), on: connection, logger: logger).id
            })
    }

    public var names: [String] { self.entries.keys.sorted() }

    /// The default queues of the registered kinds.
    public var queues: [String] { Set(self.entries.values.map(\.queue)).sorted() }

    subscript(name: String) -> Entry? { self.entries[name] }
}

/// A job as claimed: what the runner needs to run it and to record how it ended.
struct ClaimedJob: Sendable {
    let id: Int64
    let kind: String
    let queue: String
    let args: String
    let attempt: Int
    let maxAttempts: Int
    let sellerID: UUID?
    let priority: Int16
}
