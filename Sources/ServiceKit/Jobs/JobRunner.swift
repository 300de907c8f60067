import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle

/// How a runner works its queues.
public struct JobRunnerConfiguration: Sendable {
    /// The queues this runner works, each with how many of its jobs may run at once here.
    public var queues: [String: Int]
    /// How often each queue is polled when no wake-up hint arrives. Polling is the guarantee.
    public var pollInterval: Duration = .seconds(1)
    /// How long a claimed job is held without a heartbeat; heartbeats come every third of it.
    /// A job whose runner died runs again (as a failed attempt) once its lease has ended.
    public var lease: Duration = .seconds(30)
    /// At shutdown, how long running jobs may take to finish before they are cancelled and put
    /// back for another replica (their attempt is not counted).
    public var drainTimeout: Duration = .seconds(10)
    /// How often the leader rescues, prunes and reports depths.
    public var maintenanceInterval: Duration = .seconds(5)
    /// The leader's term; it renews every maintenance round, so it must be longer than that.
    public var leaderTerm: Duration = .seconds(20)
    /// Completed and cancelled jobs are deleted this long after they ended. Discarded (dead) jobs
    /// are kept until an operator retries or deletes them.
    public var retention: Duration = .seconds(24 * 3600)
    /// Listen for the wake-up hint (holds one pool connection).
    public var listens = true
    /// This runner's name in `lease_owner` and the leader row.
    public var workerID: String

    public init(queues: [String: Int] = ["default": 10], workerID: String = JobRunnerConfiguration.defaultWorkerID()) {
        self.queues = queues
        self.workerID = workerID
    }

    /// Host, process id and a random part: unique among replicas and restarts.
    public static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(host)/\(ProcessInfo.processInfo.processIdentifier)/\(random)"
    }

    func validated() throws -> JobRunnerConfiguration {
        guard !self.queues.isEmpty else { throw JobQueueError(field: "queues", problem: "a runner needs at least one queue") }
        for (queue, concurrency) in self.queues {
            try Jobs.checkName(queue, field: "queue")
            guard (1...10_000).contains(concurrency) else {
                throw JobQueueError(field: "queues.\(queue)", problem: "concurrency must be 1 to 10000, got \(concurrency)")
            }
        }
        guard self.lease >= .seconds(1) else { throw JobQueueError(field: "lease", problem: "must be at least 1 s") }
        guard self.leaderTerm > self.maintenanceInterval else {
            throw JobQueueError(field: "leader_term", problem: "must be longer than the maintenance interval")
        }
        return self
    }
}

/// Runs a service's jobs: one `Service` in the process's `ServiceGroup` (see `ProcessServices`).
///
/// Each queue has a loop that claims due jobs in short transactions (`FOR UPDATE SKIP LOCKED`,
/// as many as the queue has free slots) and runs each in its own task, with the kind's timeout.
/// A heartbeat renews the leases of every job held. Outcomes are written in short transactions
/// after the handler returned (completions batched); no transaction is open while a handler runs.
/// One runner per service database is the leader (a lease row in `job_leaders`): it rescues jobs
/// whose lease ended, prunes finished jobs and reports queue depths.
///
/// Graceful shutdown: the loops stop claiming, running jobs get `drainTimeout` to finish, then the
/// rest are cancelled and put back for another replica without counting the attempt.
public struct JobRunner: Service {
    let configuration: JobRunnerConfiguration
    let kinds: JobKinds
    let store: JobStore
    let logger: Logger
    let running = RunningJobs()
    let wakes: [String: WakeSignal]
    let completions = CompletionBuffer()
    let stopping = StopFlag()

    public init(client: PostgresClient, kinds: JobKinds, configuration: JobRunnerConfiguration, logger: Logger) throws {
        self.configuration = try configuration.validated()
        self.kinds = kinds
        var logger = logger
        logger[metadataKey: "job.worker"] = "\(configuration.workerID)"
        self.logger = logger
        self.store = JobStore(client: client, logger: logger, owner: configuration.workerID)
        self.wakes = configuration.queues.mapValues { _ in WakeSignal() }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { helpers in
                helpers.addTask { await self.heartbeats() }
                helpers.addTask { await self.completionLoop() }
                if self.configuration.listens {
                    helpers.addTask { await self.listen() }
                }
                helpers.addTask { await self.maintenance() }
                await withTaskGroup(of: Void.self) { loops in
                    for (queue, concurrency) in self.configuration.queues {
                        loops.addTask { await self.fetchLoop(queue: queue, concurrency: concurrency) }
                    }
                }
                // Every run has ended; write the last completions, then stop the helpers.
                await self.flushCompletions()
                helpers.cancelAll()
            }
            try? await self.store.resign(JobRunner.leadership)
        } onGracefulShutdown: {
            self.stopping.set()
            for wake in self.wakes.values { wake.signal() }
        }
    }

    // MARK: - Claiming and running

    func fetchLoop(queue: String, concurrency: Int) async {
        let wake = self.wakes[queue]!
        let kindNames = self.kinds.names
        await withDiscardingTaskGroup { group in
            while !self.stopping.isSet && !Task.isCancelled {
                let free = concurrency - self.running.executing(in: queue)
                var claimedAll = false
                if free > 0 {
                    do {
                        let limit = min(free, 500)
                        let jobs = try await self.store.claim(queue: queue, kinds: kindNames, limit: limit, lease: self.configuration.lease)
                        for job in jobs {
                            let generation = self.running.start(job.id, queue: queue)
                            group.addTask { await self.execute(job, generation: generation) }
                        }
                        claimedAll = jobs.count == limit
                    } catch {
                        self.logger.warning(
                            "job.claim.failed", metadata: ["job.queue": "\(queue)", "error": "\(String(reflecting: error))"])
                    }
                }
                // Claim again at once only when the last claim filled every free slot and slots
                // remain; otherwise wait for a slot, a hint or the poll.
                if !claimedAll || self.running.executing(in: queue) >= concurrency {
                    await wake.wait(upTo: self.configuration.pollInterval)
                }
            }
            await self.drain(queue: queue)
        }
    }

    /// Waits up to the drain time for the queue's running jobs, then stops the rest.
    func drain(queue: String) async {
        let deadline = ContinuousClock.now + self.configuration.drainTimeout
        // Cancelled instead of asked to stop (the group is being torn down): no waiting.
        while self.running.executing(in: queue) > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.running.executing(in: queue) > 0 {
            self.logger.info(
                "job.drain.timeout",
                metadata: ["job.queue": "\(queue)", "job.running": "\(self.running.executing(in: queue))"])
            self.running.stopAll(queue: queue, .shutdown)
        }
    }

    func execute(_ job: ClaimedJob, generation: UInt64) async {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind)"
        logger[metadataKey: "job.attempt"] = "\(job.attempt)"
        guard let entry = self.kinds[job.kind] else {
            // Claimed only among known kinds, so this is a programming error; hand the job back.
            _ = self.running.finishExecuting(job.id, generation: generation)
            self.running.remove(job.id, generation: generation)
            try? await self.store.putBack(job.id, after: .zero)
            return
        }
        let started = ContinuousClock.now
        let handler = Task { try await entry.run(job.args, job, logger) }
        self.running.setCancel(job.id, generation: generation) { handler.cancel() }
        let timer = Task {
            try await Task.sleep(for: entry.timeout)
            self.running.stop(job.id, generation: generation, .timeout)
        }
        let result = await handler.result
        timer.cancel()
        let stop = self.running.finishExecuting(job.id, generation: generation)
        self.wakes[job.queue]?.signal()
        let elapsed = ContinuousClock.now - started
        await self.record(job, generation: generation, entry: entry, result: result, stop: stop, elapsed: elapsed, logger: logger)
    }

    /// Writes how a run ended. A write that fails leaves the job running with no heartbeat: the
    /// leader rescues it when its lease ends, and it runs again.
    func record(
        _ job: ClaimedJob, generation: UInt64, entry: JobKinds.Entry, result: Result<JobOutcome, any Error>, stop: JobStop?,
        elapsed: Duration,
        logger: Logger
    ) async {
        var outcome = "unrecorded"
        do {
            switch (result, stop) {
            case (.success(.completed), _):
                outcome = "completed"
                self.completions.add(job.id)
                Self.count(kind: job.kind, outcome: outcome, elapsed: elapsed)
                return  // removed from `running` when the batch is written
            case (.failure, .leaseLost), (.success, .leaseLost):
                outcome = "lease_lost"
                logger.warning("job.lease.lost")
            case (.failure, .shutdown):
                outcome = "released"
                try await self.store.putBack(job.id, after: .zero)
            case (.failure, .timeout):
                outcome = "timed_out"
                var random = SystemRandomNumberGenerator()
                let state = try await self.store.fail(
                    job, error: "timed out after \(entry.timeout) and was cancelled",
                    retryIn: entry.backoff.delay(retry: job.attempt, using: &random),
                    discard: false)
                logger.warning("job.timed_out", metadata: ["job.state": "\(state ?? "lost")"])
            case (.success(.snooze(let delay)), _):
                outcome = "snoozed"
                try await self.store.putBack(job.id, after: max(delay, .zero))
            case (.success(.cancel(let reason)), _):
                outcome = "cancelled"
                try await self.store.cancel(job, reason: reason)
            case (.failure(let error as JobFailure), _):
                outcome = "discarded"
                try await self.store.fail(job, error: error.reason, retryIn: .zero, discard: true)
                logger.warning("job.discarded", metadata: ["error": "\(error.reason)"])
            case (.failure(let error), _):
                var random = SystemRandomNumberGenerator()
                let state = try await self.store.fail(
                    job, error: String(describing: error), retryIn: entry.backoff.delay(retry: job.attempt, using: &random), discard: false)
                outcome = state == "discarded" ? "discarded" : "failed"
                logger.warning("job.failed", metadata: ["error": "\(String(reflecting: error))", "job.state": "\(state ?? "lost")"])
            }
        } catch {
            outcome = "unrecorded"
            logger.error("job.record.failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        self.running.remove(job.id, generation: generation)
        Self.count(kind: job.kind, outcome: outcome, elapsed: elapsed)
    }

    static func count(kind: String, outcome: String, elapsed: Duration) {
        Counter(label: "pixecom_jobs_runs_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
        Metrics.Timer(label: "pixecom_jobs_run_duration_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(elapsed.inSeconds * 1e9))
    }

    // MARK: - Completions

    func completionLoop() async {
        while !Task.isCancelled {
            await self.completions.wake.wait(upTo: .seconds(1))
            await self.flushCompletions()
        }
    }

    /// Writes the completions gathered so far, up to a thousand per statement.
    func flushCompletions() async {
        while true {
            let ids = self.completions.take(upTo: 1000)
            guard !ids.isEmpty else { return }
            do {
                try await self.store.complete(ids)
            } catch {
                self.logger.error("job.complete.failed", metadata: ["job.count": "\(ids.count)", "error": "\(String(reflecting: error))"])
            }
            self.running.removeCompleted(ids)
        }
    }

    // MARK: - Heartbeats and hints

    func heartbeats() async {
        let interval = self.configuration.lease / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let held = self.running.held
            guard !held.isEmpty else { continue }
            do {
                let renewed = try await self.store.renew(held, lease: self.configuration.lease)
                for id in held where !renewed.contains(id) && self.running.isHeld(id) {
                    self.running.stop(id, .leaseLost)
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.warning("job.heartbeat.failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// Wakes a queue's loop when the table's trigger says a job became due there.
    func listen() async {
        while !Task.isCancelled {
            do {
                try await self.store.client.withConnection { connection in
                    try await connection.listen(on: "pixecom_jobs") { notifications in
                        for try await notification in notifications {
                            self.wakes[notification.payload]?.signal()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.info("job.listen.failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: self.configuration.pollInterval)
        }
    }
}

/// Completed runs waiting to be written in one statement.
final class CompletionBuffer: Sendable {
    private let ids = NIOLockedValueBox<[Int64]>([])
    let wake = WakeSignal()

    /// Adds a completed run and wakes the loop that writes them.
    func add(_ id: Int64) {
        self.ids.withLockedValue { $0.append(id) }
        self.wake.signal()
    }

    func take(upTo limit: Int) -> [Int64] {
        self.ids.withLockedValue { ids in
            let taken = Array(ids.prefix(limit))
            ids.removeFirst(taken.count)
            return taken
        }
    }
}

/// Set once, read often.
final class StopFlag: Sendable {
    private let flag = NIOLockedValueBox(false)
    func set() { self.flag.withLockedValue { $0 = true } }
    var isSet: Bool { self.flag.withLockedValue { $0 } }
}
