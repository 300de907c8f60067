import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// A standalone job runner over ServiceKit's queue, for the crash test and the benchmark: it
/// runs the `effect` kind, whose handler records its job's id once (`job_effects`, keyed by the
/// id) and every run of it (`job_effect_runs`), so a test can count effects and reruns.
///
///     JobWorker migrate     the queue's tables and the effect tables (PIXECOM_DATABASE_OWNER_URL
///                           as owner; grants PIXECOM_DATABASE_URL's role)
///     JobWorker work        runs until SIGTERM/SIGINT (drains), as PIXECOM_DATABASE_URL;
///                           PIXECOM_JOB_* configure it (docs/JOBS.md), PIXECOM_JOB_WORKER_ID names it
///     JobWorker enqueue N   enqueues N effect jobs, 5,000 per statement
///     JobWorker bench N C   enqueues N trivial jobs while a runner with concurrency C works them
///                           in this process; prints {"jobs":N,"seconds":S,"jobs_per_second":R}
@main
struct JobWorkerMain {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var logger = Logger(label: "job-worker")
        logger.logLevel = .warning
        do {
            switch arguments.first {
            case "migrate":
                try await Self.migrate(logger: logger)
            case "work":
                try await Self.work(logger: logger)
            case "enqueue":
                guard arguments.count == 2, let count = Int(arguments[1]), count > 0 else { usage("enqueue needs a job count") }
                try await Self.enqueue(count: count, logger: logger)
            case "bench":
                guard arguments.count == 3, let count = Int(arguments[1]), count > 0, let concurrency = Int(arguments[2]), concurrency > 0
                else { usage("bench needs a job count and a concurrency") }
                try await Self.bench(count: count, concurrency: concurrency, logger: logger)
            default:
                usage("unknown command \(arguments.first ?? "(none)")")
            }
        } catch {
            FileHandle.standardError.write(Data("JobWorker: \(error)\n".utf8))
            exit(1)
        }
    }

    static func client(_ variable: String) throws -> PostgresClient {
        guard let url = ProcessInfo.processInfo.environment[variable] else {
            throw ConfigurationError(variable: variable, problem: "is required")
        }
        var configuration = try DatabaseURL(url, variable: variable).clientConfiguration
        configuration.options.maximumConnections = 12
        return PostgresClient(configuration: configuration)
    }

    static func withClient<T: Sendable>(_ variable: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = try Self.client(variable)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    static func migrate(logger: Logger) async throws {
        let appURL = try EnvironmentReader().required("PIXECOM_DATABASE_URL")
        let role = try DatabaseURL(appURL, variable: "PIXECOM_DATABASE_URL").username
        try await Self.withClient("PIXECOM_DATABASE_OWNER_URL") { owner in
            let migrator = Migrator.jobQueue(logger: logger)
            try await migrator.run(on: owner)
            try await owner.query(
                "CREATE TABLE IF NOT EXISTS job_effects (job_id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())", logger: logger)
            try await owner.query(
                "CREATE TABLE IF NOT EXISTS job_effect_runs (job_id bigint NOT NULL, worker text NOT NULL, attempt int NOT NULL)",
                logger: logger)
            try await migrator.grant(to: role, on: owner)
        }
    }

    static func work(logger: Logger) async throws {
        let environment = EnvironmentReader()
        let client = try Self.client("PIXECOM_DATABASE_URL")
        var kinds = JobKinds()
        kinds.register(EffectJob(client: client))
        var configuration = try JobRunnerConfiguration(environment: environment, kinds: kinds)
        if let id = environment.string("PIXECOM_JOB_WORKER_ID") { configuration.workerID = id }
        let maintenance = try environment.int("PIXECOM_JOB_MAINTENANCE_MILLISECONDS", default: 5000, range: 50...600_000)
        configuration.maintenanceInterval = .milliseconds(maintenance)
        configuration.leaderTerm = max(configuration.leaderTerm, .milliseconds(maintenance * 4))
        let runner = try JobRunner(client: client, kinds: kinds, configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: client),
                    .init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        FileHandle.standardOutput.write(Data("working as \(configuration.workerID)\n".utf8))
        if let ready = environment.string("PIXECOM_READY_FILE") {
            try ServiceRuntime.writeReadyFile(ready, ["pid": Int(ProcessInfo.processInfo.processIdentifier)])
        }
        try await group.run()
    }

    static func enqueue(count: Int, logger: Logger) async throws {
        try await Self.withClient("PIXECOM_DATABASE_URL") { client in
            try await Self.enqueue(EffectJob.self, EffectJob.Args(), count: count, perStatement: 5000, client: client, logger: logger)
        }
    }

    /// Enqueues `count` jobs of `kind` with `args`, `perStatement` per transaction.
    static func enqueue<Kind: JobKind>(
        _ kind: Kind.Type, _ args: Kind.Args, count: Int, perStatement: Int, client: PostgresClient, logger: Logger
    ) async throws {
        var left = count
        while left > 0 {
            let batch = min(left, perStatement)
            _ = try await client.withTransaction(logger: logger) { connection in
                try await Jobs.enqueueMany(kind, Array(repeating: args, count: batch), on: connection, logger: logger)
            }
            left -= batch
        }
    }

    static func bench(count: Int, concurrency: Int, logger: Logger) async throws {
        try await Self.withClient("PIXECOM_DATABASE_URL") { client in
            var kinds = JobKinds()
            let handled = HandledCount()
            kinds.register(NoopJob(handled: handled))
            var configuration = JobRunnerConfiguration(queues: ["default": concurrency])
            configuration.pollInterval = .milliseconds(50)
            let runner = try JobRunner(client: client, kinds: kinds, configuration: configuration, logger: logger)
            let started = ContinuousClock.now
            let seconds = try await withThrowingTaskGroup(of: Double?.self) { tasks in
                tasks.addTask {
                    try await runner.run()
                    return nil
                }
                tasks.addTask {
                    try await Self.enqueue(NoopJob.self, NoopJob.Args(), count: count, perStatement: 1000, client: client, logger: logger)
                    return nil
                }
                tasks.addTask {
                    // The handlers' count says when the last job has run (no query load while
                    // the queue works); then the database is asked until every completion is written.
                    while handled.value < count { try await Task.sleep(for: .milliseconds(5)) }
                    while true {
                        let rows = try await client.query(
                            "SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'completed'", logger: logger)
                        for try await done in rows.decode(Int64.self) where done >= count {
                            return (ContinuousClock.now - started).inSeconds
                        }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                }
                var seconds = 0.0
                while let result = try await tasks.next() {
                    if let result {
                        seconds = result
                        tasks.cancelAll()
                    }
                }
                return seconds
            }
            let rate = Double(count) / seconds
            print("{\"jobs\":\(count),\"seconds\":\(String(format: "%.3f", seconds)),\"jobs_per_second\":\(Int(rate))}")
        }
    }
}

/// Records its job's effect once, and every run of it.
struct EffectJob: JobKind {
    struct Args: Codable, Sendable {}
    static var name: String { "effect" }
    static var backoff: JobBackoff { JobBackoff(base: .milliseconds(50), cap: .seconds(1)) }
    static var maxAttempts: Int { 100 }

    let client: PostgresClient

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let worker = "\(ProcessInfo.processInfo.processIdentifier)"
        try await self.client.query(
            """
            WITH run AS (INSERT INTO job_effect_runs (job_id, worker, attempt) VALUES (\(job.id), \(worker), \(job.attempt)))
            INSERT INTO job_effects (job_id) VALUES (\(job.id)) ON CONFLICT DO NOTHING
            """,
            logger: job.logger)
        return .completed
    }
}

/// Does nothing but count: the benchmark's handler.
struct NoopJob: JobKind {
    struct Args: Codable, Sendable {}
    static var name: String { "noop" }

    let handled: HandledCount

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        self.handled.increment()
        return .completed
    }
}

final class HandledCount: Sendable {
    private let count = NIOLockedValueBox(0)
    func increment() { self.count.withLockedValue { $0 += 1 } }
    var value: Int { self.count.withLockedValue { $0 } }
}

func usage(_ problem: String) -> Never {
    FileHandle.standardError.write(
        Data("JobWorker: \(problem)\nusage: JobWorker migrate | work | enqueue N | bench N CONCURRENCY\n".utf8))
    exit(2)
}
