import Foundation
import Logging
import PostgresNIO
import Testing

/// The job queue when its workers die: three `JobWorker` processes work 100,000 jobs whose
/// handlers record their effect keyed by job id, while the test SIGKILLs a random worker now and
/// then and starts a new one in its place. Every job must take effect exactly once, none may be
/// lost, and none may be left running.
@Suite("Job queue under SIGKILL", .serialized) struct JobCrashTests {
    static let jobs = 100_000
    let logger = Logger(label: "test.job-crash")

    @Test func everyJobTakesEffectExactlyOnceThroughRandomKills() async throws {
        let database = try await JobDatabase.create()
        try await TestDatabases.withClient(database.urls.owner) { owner in
            try await owner.query(
                "CREATE TABLE job_effects (job_id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())", logger: self.logger)
            try await owner.query(
                "CREATE TABLE job_effect_runs (job_id bigint NOT NULL, worker text NOT NULL, attempt int NOT NULL)", logger: self.logger)
            let role = URLComponents(string: database.urls.app)?.user ?? ""
            try await owner.query(
                PostgresQuery(unsafeSQL: "GRANT SELECT, INSERT ON job_effects, job_effect_runs TO \"\(role)\""), logger: self.logger)
        }
        try await database.withAppClient(connections: 2) { client in
            try await client.query(
                """
                INSERT INTO jobs (kind, queue, args, max_attempts)
                SELECT 'effect', 'default', '{}', 100 FROM generate_series(1, \(Self.jobs))
                """,
                logger: self.logger)
        }
        let pool = try WorkerPool(database: database)
        for _ in 0..<3 { try await pool.add() }
        // Kill one worker at a time at seeded random moments while work remains; the seed makes
        // the schedule repeatable (what each kill interrupts depends on timing).
        let kills = try await database.withAppClient(connections: 2) { client in
            var random = SeededRandom(seed: 0x6a6f_6273)
            var kills = 0
            while kills < 8 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 600...1500, using: &random)))
                let remaining = try await client.jobStates().filter { $0.key == "available" || $0.key == "running" }.values.reduce(0, +)
                if remaining < Self.jobs / 20 { break }
                try await pool.replace(Int.random(in: 0..<3, using: &random))
                kills += 1
            }
            try await waitFor("every job to complete", timeout: .seconds(300)) {
                try await client.jobStates()["completed", default: 0] == Self.jobs
            }
            return kills
        }
        let started = await pool.stopAll()

        try await TestDatabases.withClient(database.urls.admin) { admin in
            let states = try await admin.jobStates()
            let rows = try await admin.query(
                """
                SELECT (SELECT count(*) FROM job_effects), (SELECT count(DISTINCT job_id) FROM job_effects),
                       (SELECT count(*) FROM job_effect_runs),
                       (SELECT count(*) FROM jobs WHERE errors <> '[]'),
                       (SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM job_effects e WHERE e.job_id = j.id))
                """,
                logger: self.logger)
            for try await (effects, distinct, runs, rescued, missing) in rows.decode((Int64, Int64, Int64, Int64, Int64).self) {
                print(
                    """
                    job crash test: \(Self.jobs) jobs, 3 workers, \(kills) SIGKILLs (\(started) worker processes in all): \
                    \(states["completed", default: 0]) completed, \(effects) effects (\(distinct) distinct), \(runs) handler runs \
                    (\(runs - effects) repeated after a kill), \(rescued) jobs rescued from a dead worker, \(missing) without effect
                    """)
                #expect(states == ["completed": Self.jobs], "every job completed, none left running or waiting: \(states)")
                #expect(effects == Int64(Self.jobs) && distinct == effects, "each job's effect exactly once")
                #expect(missing == 0)
                #expect(runs >= effects)
            }
        }
        #expect(kills >= 3, "the run was long enough for the kills to land")
    }
}

/// The test's `JobWorker` processes: started, SIGKILLed and replaced, stopped.
actor WorkerPool {
    let database: JobDatabase
    let directory: URL
    private var workers: [ServiceProcess] = []
    private var started = 0

    init(database: JobDatabase) throws {
        self.database = database
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("pixecom-job-crash-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    func add() async throws {
        self.workers.append(try await self.start())
    }

    /// SIGKILLs worker `index` and starts a new one in its place.
    func replace(_ index: Int) async throws {
        self.workers[index].kill()
        self.workers[index] = try await self.start()
    }

    /// Stops every worker gracefully; returns how many processes were started in all.
    func stopAll() async -> Int {
        for worker in self.workers { await worker.terminate() }
        try? FileManager.default.removeItem(at: self.directory)
        return self.started
    }

    private func start() async throws -> ServiceProcess {
        self.started += 1
        let process = ServiceProcess(
            name: "worker-\(self.started)", executable: "JobWorker",
            environment: [
                "PIXECOM_DATABASE_URL": self.database.urls.app,
                "PIXECOM_JOB_WORKER_ID": "worker-\(self.started)",
                "PIXECOM_JOB_QUEUES": "default=16",
                "PIXECOM_JOB_LEASE_SECONDS": "3",
                "PIXECOM_JOB_POLL_MILLISECONDS": "100",
                "PIXECOM_JOB_MAINTENANCE_MILLISECONDS": "250",
            ],
            directory: self.directory)
        try await process.start(timeout: .seconds(30), arguments: ["work"])
        return process
    }
}
