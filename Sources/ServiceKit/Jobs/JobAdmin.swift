import Foundation
import Logging
import PostgresNIO

/// What operators do with a service's jobs (the `pixecom-jobs` command): look at queues and dead
/// jobs, retry, cancel, delete. Every change names its jobs by id and says what it did to each;
/// nothing is deleted unless asked by id.
public struct JobAdmin: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public struct QueueSummary: Sendable, Equatable {
        public var queue: String
        public var due: Int
        public var scheduled: Int
        public var running: Int
        public var discarded: Int
        public var oldestDueSeconds: Double
    }

    /// Per queue: due and scheduled (waiting for `run_at`) jobs, running, dead, and how long the
    /// oldest due job has waited.
    public func queues() async throws -> [QueueSummary] {
        let rows = try await self.client.query(
            """
            SELECT queue,
                   count(*) FILTER (WHERE state = 'available' AND run_at <= now()),
                   count(*) FILTER (WHERE state = 'available' AND run_at > now()),
                   count(*) FILTER (WHERE state = 'running'),
                   count(*) FILTER (WHERE state = 'discarded'),
                   COALESCE(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'available' AND run_at <= now())), 0)::float8
            FROM jobs WHERE state IN ('available', 'running', 'discarded')
            GROUP BY queue ORDER BY queue
            """,
            logger: self.logger)
        var summaries: [QueueSummary] = []
        for try await (queue, due, scheduled, running, discarded, oldest) in rows.decode((String, Int64, Int64, Int64, Int64, Double).self)
        {
            summaries.append(
                QueueSummary(
                    queue: queue, due: Int(due), scheduled: Int(scheduled), running: Int(running), discarded: Int(discarded),
                    oldestDueSeconds: oldest))
        }
        return summaries
    }

    public struct JobRecord: Sendable, Equatable {
        public var id: Int64
        public var kind: String
        public var queue: String
        public var state: String
        public var attempt: Int
        public var maxAttempts: Int
        public var args: String
        public var runAt: Date
        public var finalizedAt: Date?
        public var leaseOwner: String?
        public var uniqueKey: String?
        public var sequenceKey: String?
        /// Each failed attempt's error, oldest first: "attempt N at TIME on WORKER: ERROR".
        public var errors: [String]
    }

    public static let states: Set<String> = ["available", "running", "completed", "cancelled", "discarded"]

    /// Jobs in `state` (newest first), optionally of one kind or queue. An unknown state or kind
    /// is an error that names what exists.
    public func list(state: String, kind: String? = nil, queue: String? = nil, limit: Int = 50) async throws -> [JobRecord] {
        guard Self.states.contains(state) else {
            throw JobAdminError("unknown state \"\(state)\"; states are \(Self.states.sorted().joined(separator: ", "))")
        }
        if let kind {
            let kinds = try await self.kinds()
            guard kinds.contains(kind) else {
                throw JobAdminError(
                    "no job of kind \"\(kind)\" in this database; kinds present: \(kinds.isEmpty ? "none" : kinds.joined(separator: ", "))")
            }
        }
        return try await self.records(
            """
            WHERE state = \(state) AND (\(kind)::text IS NULL OR kind = \(kind)) AND (\(queue)::text IS NULL OR queue = \(queue))
            ORDER BY id DESC LIMIT \(min(max(limit, 1), 10_000))
            """)
    }

    /// One job, with every error it kept.
    public func show(_ id: Int64) async throws -> JobRecord {
        guard let record = try await self.records("WHERE id = \(id)").first else { throw JobAdminError("job \(id) does not exist") }
        return record
    }

    /// Puts discarded, cancelled or waiting jobs back to run now. A job out of attempts gets one
    /// more. Refused, per job, when it is running or completed, or when another job of its kind
    /// with its unique key is waiting or running. Returns what was done to each.
    public func retry(_ ids: [Int64]) async throws -> [Int64: String] {
        var outcome: [Int64: String] = [:]
        for id in ids {
            let current = try await self.show(id)
            switch current.state {
            case "running":
                outcome[id] = "refused: running on \(current.leaseOwner ?? "a worker"); retry it once it has ended"
                continue
            case "completed":
                outcome[id] = "refused: completed; a completed job is not run again (enqueue a new one)"
                continue
            default:
                break
            }
            do {
                let rows = try await self.client.query(
                    """
                    UPDATE jobs SET state = 'available', run_at = now(), finalized_at = NULL,
                        max_attempts = GREATEST(max_attempts, attempt + 1)
                    WHERE id = \(id) AND state IN ('available', 'cancelled', 'discarded')
                    RETURNING id
                    """,
                    logger: self.logger)
                var updated = false
                for try await _ in rows.decode(Int64.self) { updated = true }
                outcome[id] =
                    updated ? "retried: \(current.state) -> available, due now" : "refused: its state changed meanwhile; look again"
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                outcome[id] = "refused: another \(current.kind) job with unique key \"\(current.uniqueKey ?? "")\" is waiting or running"
            }
        }
        return outcome
    }

    /// Cancels waiting jobs. A running job is refused (its worker holds it); a finished one is
    /// left as it is.
    public func cancel(_ ids: [Int64]) async throws -> [Int64: String] {
        var outcome: [Int64: String] = [:]
        for id in ids {
            let current = try await self.show(id)
            guard current.state == "available" else {
                outcome[id] =
                    current.state == "running"
                    ? "refused: running on \(current.leaseOwner ?? "a worker"); a running job finishes or is stopped with its worker"
                    : "refused: already \(current.state)"
                continue
            }
            let rows = try await self.client.query(
                """
                UPDATE jobs SET state = 'cancelled', finalized_at = now(),
                    errors = errors || jsonb_build_array(jsonb_build_object(
                        'attempt', attempt, 'at', now(), 'error', 'cancelled by an operator', 'worker', 'pixecom-jobs'))
                WHERE id = \(id) AND state = 'available'
                RETURNING id
                """,
                logger: self.logger)
            var updated = false
            for try await _ in rows.decode(Int64.self) { updated = true }
            outcome[id] = updated ? "cancelled" : "refused: its state changed meanwhile; look again"
        }
        return outcome
    }

    /// Deletes finished jobs (discarded, cancelled or completed) by id. Waiting and running jobs
    /// are refused: cancel them first.
    public func delete(_ ids: [Int64]) async throws -> [Int64: String] {
        var outcome: [Int64: String] = [:]
        for id in ids {
            let current = try await self.show(id)
            guard ["discarded", "cancelled", "completed"].contains(current.state) else {
                outcome[id] = "refused: \(current.state); only finished jobs are deleted (cancel it first)"
                continue
            }
            try await self.client.query(
                "DELETE FROM jobs WHERE id = \(id) AND state IN ('discarded', 'cancelled', 'completed')", logger: self.logger)
            outcome[id] = "deleted (was \(current.state))"
        }
        return outcome
    }

    func kinds() async throws -> [String] {
        let rows = try await self.client.query("SELECT DISTINCT kind FROM jobs ORDER BY kind", logger: self.logger)
        var kinds: [String] = []
        for try await kind in rows.decode(String.self) { kinds.append(kind) }
        return kinds
    }

    func records(_ filter: PostgresQuery) async throws -> [JobRecord] {
        var query: PostgresQuery = """
            SELECT id, kind, queue, state, attempt, max_attempts, args::text, run_at, finalized_at, lease_owner, unique_key,
                   sequence_key,
                   COALESCE((SELECT array_agg('attempt ' || (e->>'attempt') || ' at ' || (e->>'at') || ' on '
                                              || COALESCE(e->>'worker', '?') || ': ' || (e->>'error') ORDER BY n)
                             FROM jsonb_array_elements(errors) WITH ORDINALITY AS x (e, n)), '{}')
            FROM jobs 
            """
        query.sql += filter.sql
        query.binds = filter.binds
        let rows = try await self.client.query(query, logger: self.logger)
        var records: [JobRecord] = []
        for try await row in rows {
            let (id, kind, queue, state, attempt, maxAttempts, args, runAt, finalizedAt, owner, unique, sequence, errors) =
                try row.decode((Int64, String, String, String, Int, Int, String, Date, Date?, String?, String?, String?, [String]).self)
            records.append(
                JobRecord(
                    id: id, kind: kind, queue: queue, state: state, attempt: attempt, maxAttempts: maxAttempts, args: args,
                    runAt: runAt, finalizedAt: finalizedAt, leaseOwner: owner, uniqueKey: unique, sequenceKey: sequence,
                    errors: errors))
        }
        return records
    }
}

/// An operator's request that cannot be done, saying why.
public struct JobAdminError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
