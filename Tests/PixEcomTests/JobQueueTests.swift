import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Testing

@testable import ServiceKit

/// The job queue (ServiceKit `Jobs/`) against a real Postgres: enqueue inside the caller's
/// transaction, every outcome, unique keys, priorities and `run_at`, per-queue concurrency,
/// rescue of a dead worker's jobs, and graceful shutdown.
@Suite("Job queue", .serialized) struct JobQueueTests {
    let logger = Logger(label: "test.jobs")

    func runner(
        _ client: PostgresClient, probe: JobProbe, queues: [String: Int] = ["default": 4], worker: String = "test-runner",
        configure: (inout JobRunnerConfiguration) -> Void = { _ in }
    ) throws -> JobRunner {
        var kinds = JobKinds()
        kinds.register(ProbeJob(probe: probe))
        kinds.register(SlowProbeJob(probe: probe))
        var configuration = JobRunnerConfiguration(queues: queues, workerID: worker)
        configuration.pollInterval = .milliseconds(100)
        configuration.lease = .seconds(2)
        configuration.maintenanceInterval = .milliseconds(200)
        configuration.leaderTerm = .seconds(2)
        configuration.drainTimeout = .milliseconds(500)
        configure(&configuration)
        return try JobRunner(client: client, kinds: kinds, configuration: configuration, logger: self.logger)
    }

    func enqueue(_ client: PostgresClient, _ args: ProbeJob.Args, _ options: JobOptions = JobOptions()) async throws -> JobInsertion {
        try await client.withTransaction(logger: self.logger) { connection in
            try await Jobs.enqueue(ProbeJob.self, args, options, on: connection, logger: self.logger)
        }
    }

    @Test("a job exists if and only if the enqueuing transaction commits, and a committed one runs once")
    func enqueueIsTransactional() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            struct Rollback: Error {}
            let error = await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: self.logger) { connection in
                    try await Jobs.enqueue(ProbeJob.self, .init(n: 1), on: connection, logger: self.logger)
                    throw Rollback()
                }
            }
            #expect(error?.closureError is Rollback)
            #expect(try await client.jobStates().isEmpty)
            let probe = JobProbe()
            let id = try await self.enqueue(client, .init(n: 2)).id
            try await withJobRunners([try self.runner(client, probe: probe)]) {
                try await waitFor("job \(id) to complete") { try await client.job(id).state == "completed" }
            }
            #expect(probe.runs(of: 1) == 0)
            #expect(probe.runs(of: 2) == 1)
            #expect(try await client.job(id).attempt == 1)
        }
    }

    @Test(
        "outcomes: retried with every error kept until the attempts run out, discarded at once, cancelled, snoozed without using an attempt, timed out"
    )
    func everyOutcome() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let failing = try await self.enqueue(client, .init(n: 1, mode: .fail)).id
            let discarded = try await self.enqueue(client, .init(n: 2, mode: .discard)).id
            let cancelled = try await self.enqueue(client, .init(n: 3, mode: .cancel)).id
            let snoozed = try await self.enqueue(client, .init(n: 4, mode: .snoozeOnce)).id
            let hanging = try await self.enqueue(client, .init(n: 5, mode: .hang), JobOptions(maxAttempts: 2)).id
            let final: Set<String> = ["completed", "cancelled", "discarded"]
            try await withJobRunners([try self.runner(client, probe: probe)]) {
                for id in [failing, discarded, cancelled, snoozed, hanging] {
                    try await waitFor("job \(id) to end") { final.contains(try await client.job(id).state) }
                }
            }
            let failed = try await client.job(failing)
            #expect(failed.state == "discarded")
            #expect(failed.attempt == 3)
            #expect(failed.errors.count == 3)
            #expect(failed.errors.allSatisfy { $0.contains("failed on purpose") })
            #expect(probe.runs(of: 1) == 3)

            let dead = try await client.job(discarded)
            #expect(dead.state == "discarded" && dead.attempt == 1)
            #expect(dead.errors == ["the order it names does not exist"])

            let cancel = try await client.job(cancelled)
            #expect(cancel.state == "cancelled")
            #expect(cancel.errors == ["cancelled by its handler: no longer wanted"])

            let snooze = try await client.job(snoozed)
            #expect(snooze.state == "completed")
            #expect(snooze.attempt == 1)  // the snoozed attempt was given back
            #expect(probe.runs(of: 4) == 2)

            let hang = try await client.job(hanging)
            #expect(hang.state == "discarded")
            #expect(hang.errors.count == 2)
            #expect(hang.errors.allSatisfy { $0.hasPrefix("timed out after 1.0 seconds") })
        }
    }

    @Test("a unique key admits one waiting or running job per kind; once it has ended the key is free again")
    func uniqueKeys() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let options = JobOptions(uniqueKey: "sync:act_1")
            let first = try await self.enqueue(client, .init(n: 1), options)
            let second = try await self.enqueue(client, .init(n: 2), options)
            guard case .inserted(let id) = first else { Issue.record("first enqueue was \(first)"); return }
            #expect(second == .duplicate(existingID: id))
            let other = try await self.enqueue(client, .init(n: 3), JobOptions(uniqueKey: "sync:act_2"))
            #expect(other.id != id)
            let probe = JobProbe()
            try await withJobRunners([try self.runner(client, probe: probe)]) {
                try await waitFor("job \(id) to complete") { try await client.job(id).state == "completed" }
            }
            let third = try await self.enqueue(client, .init(n: 4), options)
            guard case .inserted = third else { Issue.record("after completion the key was still taken: \(third)"); return }
            #expect(probe.runs(of: 2) == 0)
        }
    }

    @Test("due jobs run highest priority first, then oldest; a job waits for its run_at")
    func priorityAndRunAt() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let later = try await self.enqueue(client, .init(n: 9), JobOptions(runAt: Date().addingTimeInterval(3600))).id
            for (n, priority) in [(1, 0), (2, 5), (3, 0), (4, 10), (5, -3)] {
                _ = try await self.enqueue(client, .init(n: n), JobOptions(priority: Int16(priority)))
            }
            try await withJobRunners([try self.runner(client, probe: probe, queues: ["default": 1])]) {
                try await waitFor("five jobs to complete") { try await client.jobStates()["completed"] == 5 }
            }
            #expect(probe.order == [4, 2, 1, 3, 5])
            #expect(try await client.job(later).state == "available")
        }
    }

    @Test("a queue runs at most its concurrency at once; jobs sent to another queue wait for a runner of it")
    func queueConcurrency() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            for n in 1...8 {
                _ = try await self.enqueue(client, .init(n: n, mode: .waitForGate))
            }
            let elsewhere = try await self.enqueue(client, .init(n: 100), JobOptions(queue: "imports")).id
            try await withJobRunners([try self.runner(client, probe: probe, queues: ["default": 3])]) {
                try await waitFor("three jobs to be running") { probe.running == 3 }
                // Every slot is taken and held until the gate opens.
                #expect(try await client.jobStates()["running"] == 3)
                probe.openGate()
                try await waitFor("eight jobs to complete") { try await client.jobStates()["completed"] == 8 }
            }
            #expect(probe.mostRunning == 3)
            #expect(try await client.job(elsewhere).state == "available")
        }
    }

    @Test("jobs with one sequence key run one at a time in the order enqueued, beside others; a discarded one stops holding the rest")
    func sequenceKeys() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let order = JobOptions(sequenceKey: "order-1")
            // The head waits for the gate under the kind with the long timeout; sequences span kinds.
            let head = try await client.withTransaction(logger: self.logger) { connection in
                try await Jobs.enqueue(SlowProbeJob.self, .init(n: 1, mode: .waitForGate), order, on: connection, logger: self.logger)
            }.id
            for n in 2...4 { _ = try await self.enqueue(client, .init(n: n), order) }
            let free = try await self.enqueue(client, .init(n: 10)).id
            // Another sequence whose head fails until it is discarded, then lets the rest run.
            let failing = try await self.enqueue(client, .init(n: 20, mode: .fail), JobOptions(sequenceKey: "order-2")).id
            let after = try await self.enqueue(client, .init(n: 21), JobOptions(sequenceKey: "order-2")).id
            // A long lease: the head runs for the whole test, and a renewal delayed past a short
            // lease on a loaded machine would have it rescued and run twice (at least once is the
            // queue's promise, but this test counts runs).
            let runner = try self.runner(client, probe: probe, queues: ["default": 8]) { $0.lease = .seconds(20) }
            try await withJobRunners([runner]) {
                try await waitFor("the free job to complete") { try await client.job(free).state == "completed" }
                try await waitFor("the failing head to be discarded") { try await client.job(failing).state == "discarded" }
                try await waitFor("the job after it to complete") { try await client.job(after).state == "completed" }
                // The head of order-1 still holds its sequence: nothing after it has run.
                #expect(try await client.job(head).state == "running")
                #expect((2...4).allSatisfy { probe.runs(of: $0) == 0 })
                probe.openGate()
                try await waitFor("order-1 to complete") { try await client.jobStates()["completed"] == 6 }
            }
            let sequence = probe.order.filter { (1...4).contains($0) }
            #expect(sequence == [1, 2, 3, 4])
            #expect(probe.runs(of: 20) == 3)
            #expect(probe.runs(of: 21) == 1)
        }
    }

    @Test(
        "a job whose worker stopped renewing its lease is rescued by the leader, counted as a failed attempt naming the worker, and runs again"
    )
    func rescueAfterTheLeaseEnds() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let id = try await self.enqueue(client, .init(n: 1)).id
            // A worker claims it and dies: its lease ends in half a second and nobody renews it.
            try await client.query(
                """
                UPDATE jobs SET state = 'running', attempt = 1, attempted_at = now(), lease_owner = 'dead-host/42/x',
                    lease_expires_at = now() + interval '500 milliseconds'
                WHERE id = \(id)
                """,
                logger: self.logger
            )
            let probe = JobProbe()
            try await withJobRunners([try self.runner(client, probe: probe)]) {
                try await waitFor("job \(id) to complete") { try await client.job(id).state == "completed" }
            }
            let job = try await client.job(id)
            #expect(job.attempt == 2)
            #expect(job.errors.count == 1)
            #expect(job.errors.first?.contains("worker dead-host/42/x stopped renewing it") == true)
            #expect(probe.runs(of: 1) == 1)
        }
    }

    @Test("at shutdown a job that finishes within the drain time completes; one that does not is put back without using its attempt")
    func gracefulShutdown() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let quick = try await self.enqueue(client, .init(n: 1, mode: .waitForGate)).id
            let slow = try await client.withTransaction(logger: self.logger) { connection in
                try await Jobs.enqueue(SlowProbeJob.self, .init(n: 2, mode: .hang), on: connection, logger: self.logger)
            }.id
            let runner = try self.runner(client, probe: probe) { $0.drainTimeout = .seconds(3) }
            try await withJobRunners([runner]) {
                try await waitFor("both jobs to run") { probe.running == 2 }
                // Shutdown begins on return; the gate opens while the runner drains.
                Task {
                    try await Task.sleep(for: .milliseconds(300))
                    probe.openGate()
                }
            }
            #expect(try await client.job(quick).state == "completed")
            let put = try await client.job(slow)
            #expect(put.state == "available")
            #expect(put.attempt == 0)
            #expect(put.errors.isEmpty)
        }
    }

    @Test("two runners: one leader at a time, and the other takes over when the leader resigns")
    func oneLeader() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let first = try self.runner(client, probe: probe, worker: "runner-a")
            let second = try self.runner(client, probe: probe, worker: "runner-b")
            try await withJobRunners([first, second]) {
                try await waitFor("a leader") { try await Self.leader(client) != nil }
                let leader = try await Self.leader(client)
                #expect(leader == "runner-a" || leader == "runner-b")
            }
            #expect(try await Self.leader(client) == nil)  // both resigned at shutdown
        }
    }

    static func leader(_ client: PostgresClient) async throws -> String? {
        let rows = try await client.query(
            "SELECT leader_id FROM job_leaders WHERE name = 'job_maintenance' AND expires_at > now()", logger: Logger(label: "test"))
        for try await leader in rows.decode(String.self) { return leader }
        return nil
    }

    @Test("enqueues with a bad field are refused, naming it, before reaching the database")
    func badOptions() throws {
        #expect(throws: JobQueueError(field: "queue", problem: "\"no spaces\" must be 1 to 100 of A-Z a-z 0-9 _ - .")) {
            try Jobs.validate(ProbeJob.self, .init(n: 1), JobOptions(queue: "no spaces"))
        }
        #expect(throws: JobQueueError(field: "priority", problem: "must be between -1000 and 1000, got 2000")) {
            try Jobs.validate(ProbeJob.self, .init(n: 1), JobOptions(priority: 2000))
        }
        #expect(throws: JobQueueError(field: "unique_key", problem: "must be 1 to 200 characters, got 0")) {
            try Jobs.validate(ProbeJob.self, .init(n: 1), JobOptions(uniqueKey: ""))
        }
        #expect(throws: JobQueueError(field: "max_attempts", problem: "must be between 1 and 1000, got 0")) {
            try Jobs.validate(ProbeJob.self, .init(n: 1), JobOptions(maxAttempts: 0))
        }
    }

    @Test("a job claimed again before its earlier run's bookkeeping ends: the late bookkeeping leaves the new run alone")
    func runGenerations() {
        let running = RunningJobs()
        let first = running.start(7, queue: "default")
        #expect(running.finishExecuting(7, generation: first) == nil)
        // The outcome is written and the job is claimed again at once, before `remove` ran.
        let second = running.start(7, queue: "default")
        running.remove(7, generation: first)
        #expect(running.isHeld(7))
        #expect(running.executing(in: "default") == 1)
        let cancelled = NIOLockedValueBox(false)
        running.setCancel(7, generation: second) { cancelled.withLockedValue { $0 = true } }
        running.stop(7, generation: first, .timeout)  // the first run's timer, late: ignored
        #expect(!cancelled.withLockedValue { $0 })
        running.stop(7, generation: second, .timeout)
        #expect(cancelled.withLockedValue { $0 })
        #expect(running.finishExecuting(7, generation: second) == .timeout)
        running.remove(7, generation: second)
        #expect(!running.isHeld(7) && running.executing(in: "default") == 0)
    }

    @Test("backoff doubles from its base up to its cap, jittered into the upper half")
    func backoff() {
        let backoff = JobBackoff(base: .seconds(1), cap: .seconds(60))
        #expect((1...8).map { backoff.ceiling(retry: $0) } == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        var random = SystemRandomNumberGenerator()
        for retry in 1...10 {
            let delay = backoff.delay(retry: retry, using: &random)
            #expect(delay >= backoff.ceiling(retry: retry) / 2 && delay <= backoff.ceiling(retry: retry))
        }
    }
}
