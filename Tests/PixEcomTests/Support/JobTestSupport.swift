import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Testing

/// A database with the job queue's tables on the test Postgres, migrated by its owner and used
/// as the runtime role, as a service uses it.
struct JobDatabase: Sendable {
    let urls: TestDatabase

    static func create() async throws -> JobDatabase {
        let urls = try await TestDatabases.create(services: ["jobs"])["jobs"]!
        let appRole = URLComponents(string: urls.app)?.user ?? ""
        try await TestDatabases.withClient(urls.owner) { owner in
            let migrator = Migrator.jobQueue(logger: Logger(label: "test.migrations"))
            try await migrator.run(on: owner)
            try await migrator.grant(to: appRole, on: owner)
        }
        return JobDatabase(urls: urls)
    }

    func withAppClient<T: Sendable>(connections: Int = 8, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await self.urls.withAppClient(connections: connections, body)
    }
}

/// Runs `runners` in one ServiceGroup while `body` runs, then shuts them down gracefully and
/// waits for them.
func withJobRunners<T: Sendable>(
    _ runners: [JobRunner], _ body: @Sendable () async throws -> T
) async throws -> T {
    var configuration = ServiceGroupConfiguration(
        services: runners.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: Logger(label: "test.jobs"))
    // A runner that does not stop is a failure to report, not a reason to hang the suite.
    configuration.maximumGracefulShutdownDuration = .seconds(60)
    configuration.maximumCancellationDuration = .seconds(10)
    let group = ServiceGroup(configuration: configuration)
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Polls `condition` until it holds; fails the test (naming `what`) after `timeout`. Tests wait
/// for outcomes this way, never for fixed times.
func waitFor(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout) waiting for \(what)")
    throw TestSetupError("timed out waiting for \(what)")
}

extension PostgresClient {
    /// One row of `jobs`, as the tests read it.
    func job(_ id: Int64) async throws -> (state: String, attempt: Int, errors: [String]) {
        let rows = try await self.query(
            """
            SELECT state, attempt, COALESCE((SELECT array_agg(e->>'error' ORDER BY n) FROM jsonb_array_elements(errors)
                                             WITH ORDINALITY AS x (e, n)), '{}')
            FROM jobs WHERE id = \(id)
            """,
            logger: Logger(label: "test.jobs")
        )
        for try await (state, attempt, errors) in rows.decode((String, Int, [String]).self) {
            return (state, attempt, errors)
        }
        throw TestSetupError("job \(id) does not exist")
    }

    func jobStates() async throws -> [String: Int] {
        let rows = try await self.query("SELECT state, count(*)::bigint FROM jobs GROUP BY state", logger: Logger(label: "test.jobs"))
        var counts: [String: Int] = [:]
        for try await (state, count) in rows.decode((String, Int64).self) { counts[state] = Int(count) }
        return counts
    }
}

/// Things the test handlers record, shared with the test.
final class JobProbe: Sendable {
    private struct State {
        var runs: [Int: Int] = [:]
        var order: [Int] = []
        var running = 0
        var mostRunning = 0
        var gateOpen = false
    }

    private let state = NIOLockedValueBox(State())

    func began(_ n: Int) {
        self.state.withLockedValue { state in
            state.runs[n, default: 0] += 1
            state.order.append(n)
            state.running += 1
            state.mostRunning = max(state.mostRunning, state.running)
        }
    }

    func ended() { self.state.withLockedValue { $0.running -= 1 } }
    func runs(of n: Int) -> Int { self.state.withLockedValue { $0.runs[n] ?? 0 } }
    var order: [Int] { self.state.withLockedValue { $0.order } }
    var mostRunning: Int { self.state.withLockedValue { $0.mostRunning } }
    var running: Int { self.state.withLockedValue { $0.running } }
    func openGate() { self.state.withLockedValue { $0.gateOpen = true } }
    var gateOpen: Bool { self.state.withLockedValue { $0.gateOpen } }
}

/// The test kind: what a job does is in its arguments.
struct ProbeJob: JobKind {
    struct Args: Codable, Sendable {
        var n: Int
        var mode: Mode = .complete
    }

    enum Mode: String, Codable, Sendable {
        case complete, fail, discard, cancel, hang, waitForGate
        /// Snoozes on the first attempt, completes on the next.
        case snoozeOnce
    }

    static var name: String { "probe" }
    static var backoff: JobBackoff { JobBackoff(base: .milliseconds(20), cap: .milliseconds(100)) }
    static var timeout: Duration { .seconds(1) }
    static var maxAttempts: Int { 3 }

    let probe: JobProbe

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        self.probe.began(job.args.n)
        defer { self.probe.ended() }
        switch job.args.mode {
        case .complete:
            return .completed
        case .fail:
            throw TestSetupError("attempt \(job.attempt) failed on purpose")
        case .discard:
            throw JobFailure.discard("the order it names does not exist")
        case .cancel:
            return .cancel(reason: "no longer wanted")
        case .hang:
            // Long enough for every test that expects it to be stopped; short enough that a run
            // the runner failed to stop ends the test with failures instead of hanging it.
            try await Task.sleep(for: .seconds(120))
            return .completed
        case .waitForGate:
            while !self.probe.gateOpen { try await Task.sleep(for: .milliseconds(5)) }
            return .completed
        case .snoozeOnce:
            return self.probe.runs(of: job.args.n) == 1 ? .snooze(.milliseconds(50)) : .completed
        }
    }
}

/// The test kind again under another name, with a timeout no test reaches: for runs that must
/// outlast a drain.
struct SlowProbeJob: JobKind {
    typealias Args = ProbeJob.Args
    static var name: String { "probe_slow" }
    static var timeout: Duration { .seconds(600) }

    let probe: JobProbe

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        try await ProbeJob(probe: self.probe).run(job)
    }
}

/// A scheduled kind: each run records its job id in the probe.
struct CronProbeJob: JobKind {
    typealias Args = ProbeJob.Args
    static var name: String { "probe_cron" }

    let probe: JobProbe

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        self.probe.began(Int(job.id))
        self.probe.ended()
        return .completed
    }
}
