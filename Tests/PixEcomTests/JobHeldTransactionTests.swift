import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceKit
import Testing

/// The job queue while another session holds a transaction open for a minute (a forgotten
/// `BEGIN` in psql, a long report): its snapshot keeps every row version the queue's updates
/// leave behind from being vacuumed, so claims wade through more dead index entries as the minute
/// goes on. Jobs must keep completing throughout, all of them must complete once it ends, and
/// none may be left running. The tally printed shows the rate in each 5-second window.
@Suite("Job queue beside a long transaction", .serialized) struct JobHeldTransactionTests {
    let logger = Logger(label: "test.job-held")

    @Test func jobsKeepFlowingWhileATransactionIsHeldForAMinute() async throws {
        let database = try await JobDatabase.create()
        let hold: Duration = .seconds(60)
        let before: Duration = .seconds(5)
        let after: Duration = .seconds(10)
        let window: Duration = .seconds(5)
        try await database.withAppClient(connections: 10) { client in
            let probe = JobProbe()
            var kinds = JobKinds()
            kinds.register(ProbeJob(probe: probe))
            var configuration = JobRunnerConfiguration(queues: ["default": 8], workerID: "held-test")
            configuration.pollInterval = .milliseconds(100)
            let runner = try JobRunner(client: client, kinds: kinds, configuration: configuration, logger: self.logger)
            let enqueued = NIOLockedValueBox(0)
            let samples = try await withJobRunners([runner]) {
                try await withThrowingTaskGroup(of: [Int].self) { tasks in
                    // The producer: 25 jobs every 50 ms (500 a second) for the whole run.
                    tasks.addTask {
                        let end = ContinuousClock.now + before + hold + after
                        while ContinuousClock.now < end {
                            _ = try await client.withTransaction(logger: self.logger) { connection in
                                try await Jobs.enqueueMany(
                                    ProbeJob.self, Array(repeating: ProbeJob.Args(n: 0), count: 25), on: connection, logger: self.logger)
                            }
                            enqueued.withLockedValue { $0 += 25 }
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        return []
                    }
                    // The long transaction, on its own connection: a snapshot held for `hold`.
                    tasks.addTask {
                        try await Task.sleep(for: before)
                        try await TestDatabases.withClient(database.urls.admin) { admin in
                            try await admin.withConnection { connection in
                                try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ", logger: self.logger)
                                try await connection.query("SELECT count(*) FROM jobs", logger: self.logger)
                                try await Task.sleep(for: hold)
                                try await connection.query("COMMIT", logger: self.logger)
                            }
                        }
                        return []
                    }
                    // Completions per window.
                    tasks.addTask {
                        var counts: [Int] = []
                        let windows = Int((before + hold + after) / window)
                        for _ in 0..<windows {
                            try await Task.sleep(for: window)
                            counts.append(try await client.jobStates()["completed", default: 0])
                        }
                        return counts
                    }
                    var samples: [Int] = []
                    for try await result in tasks where !result.isEmpty { samples = result }
                    try await waitFor("every job to complete", timeout: .seconds(120)) {
                        try await client.jobStates()["completed", default: 0] == enqueued.withLockedValue { $0 }
                    }
                    return samples
                }
            }
            let total = enqueued.withLockedValue { $0 }
            let perWindow = zip(samples, [0] + samples).map { $0 - $1 }
            let rates = perWindow.map { Int(Double($0) / window.inSeconds) }
            print(
                """
                held transaction test: \(total) jobs; completions per second in each 5 s window \
                (transaction held in windows 2-13): \(rates.map(String.init).joined(separator: " "))
                """)
            #expect(try await client.jobStates() == ["completed": total], "all completed, none left running or waiting")
            // Jobs kept completing in every window, the held minute included.
            #expect(perWindow.allSatisfy { $0 > 0 }, "completions per window: \(perWindow)")
        }
    }
}
