import Foundation
import Logging
import PostgresNIO

/// The queue's statements, each its own short transaction: nothing here waits for a handler, and
/// no handler runs while one of these holds a row lock.
///
/// Every statement that ends a run checks `state = 'running' AND lease_owner = <this runner>`:
/// a runner whose job was rescued from it (its lease ran out) cannot overwrite what happened
/// since.
struct JobStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// This runner's name in `lease_owner`: host, process and a random part.
    let owner: String

    /// Claims up to `limit` due jobs of `queue` among `kinds`, highest priority first, then
    /// oldest; each gets a lease of `lease`. A job with a sequence key waits while an earlier job
    /// with the same key waits or runs. (Two claims at once cannot both take a sequence's jobs:
    /// the first's claimed job is still `available` to the second until the first commits, and
    /// so holds the later ones back.)
    func claim(queue: String, kinds: [String], limit: Int, lease: Duration) async throws -> [ClaimedJob] {
        let rows = try await self.client.query(
            """
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = now(),
                lease_owner = \(self.owner), lease_expires_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id IN (
                SELECT id FROM jobs
                WHERE state = 'available' AND queue = \(queue) AND run_at <= now() AND kind = ANY(\(kinds))
                  AND (sequence_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs earlier
                      WHERE earlier.sequence_key = jobs.sequence_key AND earlier.id < jobs.id
                        AND earlier.state IN ('available', 'running')))
                ORDER BY priority DESC, run_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, kind, args::text, attempt, max_attempts, seller_id, priority
            """,
            logger: self.logger
        )
        var jobs: [ClaimedJob] = []
        for try await (id, kind, args, attempt, maxAttempts, sellerID, priority) in rows.decode(
            (Int64, String, String, Int, Int, UUID?, Int16).self)
        {
            jobs.append(
                ClaimedJob(
                    id: id, kind: kind, queue: queue, args: args, attempt: attempt, maxAttempts: maxAttempts, sellerID: sellerID,
                    priority: priority))
        }
        return jobs.sorted { ($0.priority, -$0.id) > ($1.priority, -$1.id) }
    }

    /// Marks runs completed, many in one statement.
    func complete(_ ids: [Int64]) async throws {
        try await self.client.query(
            """
            UPDATE jobs SET state = 'completed', finalized_at = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ANY(\(ids)) AND state = 'running' AND lease_owner = \(self.owner)
            """,
            logger: self.logger
        )
    }

    /// Records a failed attempt: the error is appended; the job waits `retryIn` and runs again, or
    /// is discarded when `discard` is set or its attempts are used up. Returns the new state
    /// (nil when the job was no longer this runner's).
    @discardableResult
    func fail(_ job: ClaimedJob, error: String, retryIn: Duration, discard: Bool) async throws -> String? {
        let message = String(error.prefix(2000))
        let rows = try await self.client.query(
            """
            UPDATE jobs SET
                state = CASE WHEN \(discard) OR attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                finalized_at = CASE WHEN \(discard) OR attempt >= max_attempts THEN now() END,
                run_at = CASE WHEN \(discard) OR attempt >= max_attempts THEN run_at
                              ELSE now() + make_interval(secs => \(retryIn.inSeconds)) END,
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', \(message)::text, 'worker', lease_owner)),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(job.id) AND state = 'running' AND lease_owner = \(self.owner)
            RETURNING state
            """,
            logger: self.logger
        )
        for try await state in rows.decode(String.self) { return state }
        return nil
    }

    /// Puts a run back to wait `delay` without counting its attempt: a snooze, or (with no
    /// delay) a release when the runner stops before the job finished.
    func putBack(_ id: Int64, after delay: Duration) async throws {
        try await self.client.query(
            """
            UPDATE jobs SET state = 'available', attempt = attempt - 1,
                run_at = now() + make_interval(secs => \(delay.inSeconds)), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) AND state = 'running' AND lease_owner = \(self.owner)
            """,
            logger: self.logger
        )
    }

    /// Ends a run as cancelled by its handler, keeping the reason with the errors.
    func cancel(_ job: ClaimedJob, reason: String) async throws {
        let message = "cancelled by its handler: \(reason.prefix(2000))"
        try await self.client.query(
            """
            UPDATE jobs SET state = 'cancelled', finalized_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', \(message)::text, 'worker', lease_owner))
            WHERE id = \(job.id) AND state = 'running' AND lease_owner = \(self.owner)
            """,
            logger: self.logger
        )
    }

    /// Renews the leases of the runs this runner holds; returns the ids it still holds (a run
    /// missing from the answer was rescued from it and must stop).
    func renew(_ ids: [Int64], lease: Duration) async throws -> Set<Int64> {
        let rows = try await self.client.query(
            """
            UPDATE jobs SET lease_expires_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id = ANY(\(ids)) AND state = 'running' AND lease_owner = \(self.owner)
            RETURNING id
            """,
            logger: self.logger
        )
        var held: Set<Int64> = []
        for try await id in rows.decode(Int64.self) { held.insert(id) }
        return held
    }
}
