import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Testing

/// The operator's side of the job queue: `JobAdmin` (what `pixecom-jobs` runs) against a real
/// database, and the command itself for its output and exit status.
@Suite("Job queue operations", .serialized) struct JobAdminTests {
    let logger = Logger(label: "test.job-admin")

    /// A database with one dead, one cancelled, one completed, one waiting and one running job.
    func seeded(_ client: PostgresClient) async throws -> [String: Int64] {
        var ids: [String: Int64] = [:]
        for (name, state) in [
            ("dead", "discarded"), ("cancelled", "cancelled"), ("completed", "completed"), ("waiting", "available"), ("running", "running"),
        ] {
            let rows = try await client.query(
                """
                INSERT INTO jobs (kind, queue, args, max_attempts, state, attempt, unique_key, lease_owner, lease_expires_at, finalized_at, errors)
                VALUES ('probe', 'default', '{"n":1}', 2, \(state), CASE WHEN \(state) = 'available' THEN 0 ELSE 2 END, \(name),
                        CASE WHEN \(state) = 'running' THEN 'host/1/x' END,
                        CASE WHEN \(state) = 'running' THEN now() + interval '1 hour' END,
                        CASE WHEN \(state) IN ('discarded', 'cancelled', 'completed') THEN now() END,
                        CASE WHEN \(state) = 'discarded'
                             THEN '[{"attempt":1,"at":"2026-12-06T10:00:00Z","error":"first","worker":"w1"},{"attempt":2,"at":"2026-12-06T10:01:00Z","error":"second","worker":"w2"}]'::jsonb
                             ELSE '[]'::jsonb END)
                RETURNING id
                """,
                logger: self.logger)
            for try await id in rows.decode(Int64.self) { ids[name] = id }
        }
        return ids
    }

    @Test("queues, lists and one job's errors read as an operator needs them; unknown states, kinds and ids are named")
    func reading() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let ids = try await self.seeded(client)
            let admin = JobAdmin(client: client, logger: self.logger)
            let queues = try await admin.queues()
            #expect(queues.count == 1)
            #expect(queues.first.map { ($0.queue, $0.due, $0.running, $0.discarded) } ?? ("", 0, 0, 0) == ("default", 1, 1, 1))
            let dead = try await admin.list(state: "discarded")
            #expect(dead.map(\.id) == [ids["dead"]!])
            let job = try await admin.show(ids["dead"]!)
            #expect(job.errors == ["attempt 1 at 2026-12-06T10:00:00Z on w1: first", "attempt 2 at 2026-12-06T10:01:00Z on w2: second"])
            await #expect(throws: JobAdminError("job 999999 does not exist")) { try await admin.show(999_999) }
            await #expect(throws: JobAdminError("no job of kind \"nope\" in this database; kinds present: probe")) {
                try await admin.list(state: "discarded", kind: "nope")
            }
            await #expect(throws: JobAdminError("unknown state \"dead\"; states are available, cancelled, completed, discarded, running")) {
                try await admin.list(state: "dead")
            }
        }
    }

    @Test("retry, cancel and delete act on the states they may and refuse the others, saying why")
    func changing() async throws {
        let database = try await JobDatabase.create()
        try await database.withAppClient { client in
            let ids = try await self.seeded(client)
            let admin = JobAdmin(client: client, logger: self.logger)
            let retried = try await admin.retry([ids["dead"]!, ids["running"]!, ids["completed"]!])
            #expect(retried[ids["dead"]!] == "retried: discarded -> available, due now")
            #expect(retried[ids["running"]!] == "refused: running on host/1/x; retry it once it has ended")
            #expect(retried[ids["completed"]!]?.hasPrefix("refused: completed") == true)
            let revived = try await admin.show(ids["dead"]!)
            #expect(revived.state == "available" && revived.maxAttempts == 3 && revived.errors.count == 2)

            let cancelled = try await admin.cancel([ids["waiting"]!, ids["running"]!, ids["cancelled"]!])
            #expect(cancelled[ids["waiting"]!] == "cancelled")
            #expect(cancelled[ids["running"]!]?.hasPrefix("refused: running on host/1/x") == true)
            #expect(cancelled[ids["cancelled"]!] == "refused: already cancelled")
            #expect(try await admin.show(ids["waiting"]!).errors.last?.hasSuffix("cancelled by an operator") == true)

            let deleted = try await admin.delete([ids["completed"]!, ids["dead"]!])
            #expect(deleted[ids["completed"]!] == "deleted (was completed)")
            #expect(deleted[ids["dead"]!] == "refused: available; only finished jobs are deleted (cancel it first)")
            await #expect(throws: JobAdminError("job \(ids["completed"]!) does not exist")) { try await admin.show(ids["completed"]!) }
        }
    }

    @Test("pixecom-jobs prints what it did to each job and exits 1 when one was refused; a bad id is a clear error")
    func theCommand() async throws {
        let database = try await JobDatabase.create()
        let ids = try await database.withAppClient { client in try await self.seeded(client) }
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = TestEnvironment.binDirectory.appendingPathComponent("pixecom-jobs")
            process.arguments = arguments + ["--database-url", database.urls.app]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let list = try run(["list"])
        #expect(list.status == 0)
        #expect(list.output.contains("\(ids["dead"]!)") && list.output.contains("attempt 2 at 2026-12-06T10:01:00Z on w2: second"))
        let retry = try run(["retry", "\(ids["dead"]!)", "\(ids["running"]!)"])
        #expect(retry.status == 1)
        #expect(retry.output.contains("job \(ids["dead"]!): retried: discarded -> available, due now"))
        #expect(retry.output.contains("job \(ids["running"]!): refused: running on host/1/x"))
        let missing = try run(["show", "424242"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("job 424242 does not exist"))
        let bad = try run(["retry", "abc"])
        #expect(bad.status != 0)
        #expect(bad.output.contains("abc"))
    }
}
