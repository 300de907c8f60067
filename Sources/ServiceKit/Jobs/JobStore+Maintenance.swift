import Foundation
import Logging
import PostgresNIO

/// The leader's statements: election, rescue of runs whose lease ended, pruning, and the
/// queue's numbers for metrics.
extension JobStore {
    /// Takes or renews the leadership named `name` for `term`; true when this runner holds it.
    /// A leader that stops renewing loses it when the term ends; anyone may then take it.
    func lead(_ name: String, term: Duration) async throws -> Bool {
        let rows = try await self.client.query(
            """
            INSERT INTO job_leaders (name, leader_id, elected_at, expires_at)
            VALUES (\(name), \(self.owner), now(), now() + make_interval(secs => \(term.inSeconds)))
            ON CONFLICT (name) DO UPDATE SET
                leader_id = excluded.leader_id,
                elected_at = CASE WHEN job_leaders.leader_id = excluded.leader_id THEN job_leaders.elected_at ELSE now() END,
                expires_at = excluded.expires_at
            WHERE job_leaders.leader_id = excluded.leader_id OR job_leaders.expires_at < now()
            RETURNING leader_id
            """,
            logger: self.logger
        )
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    /// Gives up the leadership at shutdown, so another replica takes it without waiting.
    func resign(_ name: String) async throws {
        try await self.client.query(
            "DELETE FROM job_leaders WHERE name = \(name) AND leader_id = \(self.owner)", logger: self.logger)
    }

    /// Rescues up to `limit` runs whose lease ended: each counts as a failed attempt, with the
    /// error naming the worker that stopped renewing it, and waits its kind's backoff (or is
    /// discarded when out of attempts). Returns how many were rescued.
    func rescue(kinds: JobKinds, limit: Int) async throws -> Int {
        try await self.client.withTransaction(logger: self.logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, kind, attempt FROM jobs
                WHERE state = 'running' AND lease_expires_at < now()
                ORDER BY lease_expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """,
                logger: self.logger
            )
            var ids: [Int64] = []
            var delays: [Double] = []
            var random = SystemRandomNumberGenerator()
            for try await (id, kind, attempt) in rows.decode((Int64, String, Int).self) {
                ids.append(id)
                let backoff = kinds[kind]?.backoff ?? JobBackoff()
                delays.append(backoff.delay(retry: attempt, using: &random).inSeconds)
            }
            guard !ids.isEmpty else { return 0 }
            try await connection.query(
                """
                UPDATE jobs SET
                    state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                    finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    run_at = CASE WHEN attempt >= max_attempts THEN jobs.run_at
                                  ELSE now() + make_interval(secs => r.delay) END,
                    errors = errors || jsonb_build_array(jsonb_build_object(
                        'attempt', attempt, 'at', now(), 'worker', lease_owner,
                        'error', 'lease expired at ' || lease_expires_at::text || ': worker ' || lease_owner
                            || ' stopped renewing it (it crashed, was killed, or lost the database)')),
                    lease_owner = NULL, lease_expires_at = NULL
                FROM unnest(\(ids)::bigint[], \(delays)::float8[]) AS r (id, delay)
                WHERE jobs.id = r.id
                """,
                logger: self.logger
            )
            return ids.count
        }
    }

    /// Deletes up to `limit` jobs that completed or were cancelled more than `after` ago.
    /// Discarded (dead) jobs are never pruned: they wait for an operator.
    func prune(olderThan after: Duration, limit: Int) async throws -> Int {
        let rows = try await self.client.query(
            """
            DELETE FROM jobs WHERE id IN (
                SELECT id FROM jobs
                WHERE state IN ('completed', 'cancelled') AND finalized_at < now() - make_interval(secs => \(after.inSeconds))
                LIMIT \(limit)
            )
            RETURNING id
            """,
            logger: self.logger
        )
        var count = 0
        for try await _ in rows.decode(Int64.self) { count += 1 }
        return count
    }

    /// Per queue and state: how many jobs, and the age in seconds of the oldest due one.
    func depths() async throws -> [(queue: String, state: String, count: Int, oldestDueSeconds: Double)] {
        let rows = try await self.client.query(
            """
            SELECT queue, state, count(*)::bigint,
                   COALESCE(extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())), 0)::float8
            FROM jobs WHERE state IN ('available', 'running', 'discarded')
            GROUP BY queue, state
            """,
            logger: self.logger
        )
        var depths: [(String, String, Int, Double)] = []
        for try await (queue, state, count, oldest) in rows.decode((String, String, Int64, Double).self) {
            depths.append((queue, state, Int(count), oldest))
        }
        return depths
    }

    /// The database's clock, and the scheduled time of the kind's last enqueued cron run.
    func cronState(kind: String) async throws -> (now: Date, last: Date?) {
        let rows = try await self.client.query(
            "SELECT now(), (SELECT max(scheduled_at) FROM job_cron_runs WHERE kind = \(kind))", logger: self.logger)
        for try await (now, last) in rows.decode((Date, Date?).self) { return (now, last) }
        throw JobQueueError(field: "kind", problem: "the database answered no row for \(kind)'s schedule")
    }

    /// Enqueues the run of `scheduled` at `time` unless it exists; returns the job's id when it
    /// was enqueued now.
    func enqueueCronRun(_ scheduled: JobKinds.Scheduled, at time: Date) async throws -> Int64? {
        try await self.client.withTransaction(logger: self.logger) { connection in
            let claimed = try await connection.query(
                """
                INSERT INTO job_cron_runs (kind, scheduled_at) VALUES (\(scheduled.kind), \(time))
                ON CONFLICT DO NOTHING RETURNING kind
                """,
                logger: self.logger
            )
            var inserted = false
            for try await _ in claimed.decode(String.self) { inserted = true }
            guard inserted else { return nil }
            let id = try await scheduled.enqueue(connection, self.logger)
            try await connection.query(
                "UPDATE job_cron_runs SET job_id = \(id) WHERE kind = \(scheduled.kind) AND scheduled_at = \(time)",
                logger: self.logger)
            return id
        }
    }

    /// Deletes cron records older than `after`, keeping each kind's latest (the schedule's
    /// starting point).
    func pruneCronRuns(olderThan after: Duration) async throws {
        try await self.client.query(
            """
            DELETE FROM job_cron_runs c
            WHERE scheduled_at < now() - make_interval(secs => \(after.inSeconds))
              AND scheduled_at < (SELECT max(scheduled_at) FROM job_cron_runs m WHERE m.kind = c.kind)
            """,
            logger: self.logger)
    }
}
