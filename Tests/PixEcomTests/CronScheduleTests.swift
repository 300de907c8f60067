import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Testing

/// Cron schedules: the expression syntax and its next times, the rule for runs missed while no
/// leader ran, and exactly one run per scheduled time with two replicas.
@Suite("Cron schedules", .serialized) struct CronScheduleTests {
    let logger = Logger(label: "test.cron")

    static func utc(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)!
    }

    @Test(
        "next times",
        arguments: [
            ("*/15 * * * *", "2026-12-06T10:07:30Z", "2026-12-06T10:15:00Z"),
            // 2026-12-05 is a Saturday: weekdays resume on Monday.
            ("0 9 * * MON-FRI", "2026-12-05T12:00:00Z", "2026-12-07T09:00:00Z"),
            ("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
            // Both day fields restricted: either matches (Monday the 7th comes before the 15th).
            ("0 0 1,15 * 1", "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z"),
            ("*/2 * * * * *", "2026-12-06T10:00:00.500Z", "2026-12-06T10:00:02Z"),
            ("@daily", "2026-12-06T10:00:00Z", "2026-12-07T00:00:00Z"),
            ("30 23 31 12 7", "2026-12-06T10:00:00Z", "2026-12-06T23:30:00Z"),
            ("0 12 * JAN,jul *", "2026-12-06T10:00:00Z", "2027-01-01T12:00:00Z"),
            ("5-10/5 * * * *", "2026-12-06T10:07:00Z", "2026-12-06T10:10:00Z"),
        ])
    func nextTimes(expression: String, after: String, expected: String) throws {
        let schedule = try CronSchedule(expression)
        #expect(schedule.next(after: Self.utc(after)) == Self.utc(expected))
    }

    @Test func aDateThatNeverComesHasNoNextTime() throws {
        #expect(try CronSchedule("0 0 30 2 *").next(after: Self.utc("2026-12-06T00:00:00Z")) == nil)
    }

    @Test(
        "bad expressions are refused naming the field and the problem",
        arguments: [
            ("61 * * * *", "minute field \"61\": 61 is outside 0-59"),
            ("* * * *", "has 4 fields; expected 5 (minute hour day month weekday) or 6 (seconds first)"),
            ("*/0 * * * *", "minute field \"*/0\": step \"0\" must be a whole number from 1"),
            ("5-1 * * * *", "minute field \"5-1\": range 5-1 runs backwards"),
            ("0 0 * FOO *", "month field \"FOO\": \"FOO\" is not a number"),
            ("0 0 1,,2 * *", "day of month field \"1,,2\": \"\" is not a value, range or step"),
        ])
    func badExpressions(expression: String, problem: String) {
        #expect(throws: CronError(expression: expression, problem: problem)) { try CronSchedule(expression) }
    }

    func runner(_ client: PostgresClient, probe: JobProbe, schedule: String, worker: String) throws -> JobRunner {
        var kinds = JobKinds()
        try kinds.register(CronProbeJob(probe: probe), schedule: try CronSchedule(schedule), args: .init(n: 0))
        var configuration = JobRunnerConfiguration(queues: ["default": 4], workerID: worker)
        configuration.pollInterval = .milliseconds(100)
        configuration.maintenanceInterval = .milliseconds(100)
        configuration.leaderTerm = .seconds(2)
        configuration.lease = .seconds(2)
        return try JobRunner(client: client, kinds: kinds, configuration: configuration, logger: self.logger)
    }

    static func cronRuns(_ client: PostgresClient) async throws -> [(scheduledAt: Date, jobID: Int64?)] {
        let rows = try await client.query(
            "SELECT scheduled_at, job_id FROM job_cron_runs WHERE kind = 'probe_cron' ORDER BY scheduled_at",
            logger: Logger(label: "test.cron"))
        var runs: [(Date, Int64?)] = []
        for try await (at, id) in rows.decode((Date, Int64?).self) { runs.append((at, id)) }
        return runs
    }

    @Test("with two replicas every scheduled time gets exactly one job, which runs once")
    func twoReplicasOneRunPerTime() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let probe = JobProbe()
            let runners = try ["a", "b"].map { try self.runner(client, probe: probe, schedule: "* * * * * *", worker: "cron-\($0)") }
            try await withJobRunners(runners) {
                try await waitFor("three scheduled runs to complete") {
                    try await client.jobStates()["completed", default: 0] >= 3
                }
            }
            let runs = try await Self.cronRuns(client)
            let jobIDs = runs.compactMap(\.jobID)
            #expect(jobIDs.count == runs.count)  // every recorded time has its job
            #expect(Set(runs.map(\.scheduledAt)).count == runs.count)
            #expect(runs.allSatisfy { $0.scheduledAt.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) == 0 })
            let total = try await client.jobStates().values.reduce(0, +)
            #expect(total == runs.count)  // no job without its record
            for id in jobIDs where try await client.job(id).state == "completed" {
                #expect(probe.runs(of: Int(id)) == 1)
            }
        }
    }

    @Test("runs missed while no leader ran: only the latest missed time is enqueued, the earlier ones are skipped")
    func missedRunsEnqueueOnlyTheLatest() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            // The last run was ten minutes ago, then every replica was down.
            try await client.query(
                """
                INSERT INTO job_cron_runs (kind, scheduled_at)
                VALUES ('probe_cron', date_trunc('minute', now()) - interval '10 minutes')
                """,
                logger: self.logger)
            let probe = JobProbe()
            let runner = try self.runner(client, probe: probe, schedule: "* * * * *", worker: "cron-a")
            let started = Date()
            try await withJobRunners([runner]) {
                try await waitFor("the missed run to complete") { try await client.jobStates()["completed", default: 0] >= 1 }
            }
            let runs = try await Self.cronRuns(client)
            #expect(runs.count >= 2)
            // After the old record, nothing earlier than the minute the runner started in (less a
            // minute for the clock crossing one): the nine minutes in between were skipped.
            let earliestAllowed = Date(timeIntervalSince1970: (started.timeIntervalSince1970 / 60).rounded(.down) * 60 - 60)
            #expect(runs.dropFirst().allSatisfy { $0.scheduledAt >= earliestAllowed })
            #expect(runs.count <= 3)
        }
    }
}
