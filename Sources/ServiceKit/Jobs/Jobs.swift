import Foundation
import Logging
import PostgresNIO

/// Where and when an enqueued job runs, beyond its kind's defaults.
public struct JobOptions: Sendable, Equatable {
    /// The queue; the kind's own when nil.
    public var queue: String?
    /// Higher runs first among due jobs of a queue; -1000...1000.
    public var priority: Int16
    /// Not before this time; now when nil.
    public var runAt: Date?
    /// With a key, the enqueue does nothing when a job of the same kind with the same key is
    /// waiting or running (it answers `.duplicate` with that job's id). Up to 200 characters.
    public var uniqueKey: String?
    /// The kind's own when nil.
    public var maxAttempts: Int?
    /// The seller the job works for, if any: for operators and metrics (no scoping follows).
    public var sellerID: UUID?
    /// Jobs with the same key run one at a time, in the order they were enqueued (the events of
    /// one order, say); a failed job holds the later ones back until it completes or is discarded.
    /// Up to 200 characters.
    public var sequenceKey: String?

    public init(
        queue: String? = nil, priority: Int16 = 0, runAt: Date? = nil, uniqueKey: String? = nil, maxAttempts: Int? = nil,
        sellerID: UUID? = nil, sequenceKey: String? = nil
    ) {
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.uniqueKey = uniqueKey
        self.maxAttempts = maxAttempts
        self.sellerID = sellerID
        self.sequenceKey = sequenceKey
    }
}

/// What an enqueue did.
public enum JobInsertion: Sendable, Equatable {
    case inserted(id: Int64)
    /// A job of the same kind and unique key was already waiting or running; nothing was added.
    case duplicate(existingID: Int64)

    public var id: Int64 {
        switch self {
        case .inserted(let id), .duplicate(let id): id
        }
    }
}

/// An enqueue refused before it reached the database: which field, and what is wrong with it.
public struct JobQueueError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "job \(self.field): \(self.problem)" }
}

/// Enqueues jobs inside the caller's transaction: the job exists if and only if the caller's
/// change commits. Workers learn of it at commit (a NOTIFY sent by the table's trigger) or at
/// their next poll.
public enum Jobs {
    /// Enqueues one job of `kind` on `connection`, which should be in the transaction of the
    /// change that calls for it.
    @discardableResult
    public static func enqueue<Kind: JobKind>(
        _ kind: Kind.Type,
        _ args: Kind.Args,
        _ options: JobOptions = JobOptions(),
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> JobInsertion {
        let row = try Self.row(kind, args, options)
        // A unique job that lost the race to a concurrent, now finished, one finds no row to name:
        // the insert is tried once more, and then it succeeds or names the newer job.
        for _ in 0..<2 {
            let inserted = try await connection.query(
                """
                INSERT INTO jobs (kind, queue, args, seller_id, priority, run_at, max_attempts, unique_key, sequence_key)
                VALUES (\(row.kind), \(row.queue), \(row.args)::jsonb, \(row.sellerID), \(row.priority),
                        COALESCE(\(row.runAt), now()), \(row.maxAttempts), \(row.uniqueKey), \(row.sequenceKey))
                ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running')
                DO NOTHING
                RETURNING id
                """,
                logger: logger
            )
            for try await id in inserted.decode(Int64.self) {
                return .inserted(id: id)
            }
            let existing = try await connection.query(
                """
                SELECT id FROM jobs
                WHERE kind = \(row.kind) AND unique_key = \(row.uniqueKey) AND state IN ('available', 'running')
                """,
                logger: logger
            )
            for try await id in existing.decode(Int64.self) {
                return .duplicate(existingID: id)
            }
        }
        throw JobQueueError(field: "unique_key", problem: "\"\(row.uniqueKey ?? "")\" kept conflicting with jobs that ended; try again")
    }

    /// Enqueues many jobs of one kind in one statement (no unique keys). Returns their ids in
    /// the order of `args`.
    @discardableResult
    public static func enqueueMany<Kind: JobKind>(
        _ kind: Kind.Type,
        _ args: [Kind.Args],
        _ options: JobOptions = JobOptions(),
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Int64] {
        guard options.uniqueKey == nil else {
            throw JobQueueError(field: "unique_key", problem: "is not allowed when enqueuing many jobs at once")
        }
        guard options.sequenceKey == nil else {
            throw JobQueueError(field: "sequence_key", problem: "is not allowed when enqueuing many jobs at once")
        }
        guard !args.isEmpty else { return [] }
        let encoder = Self.encoder()
        let rows = try args.map { try Self.row(kind, $0, options, encoder: encoder) }
        let first = rows[0]
        let inserted = try await connection.query(
            """
            INSERT INTO jobs (kind, queue, args, seller_id, priority, run_at, max_attempts)
            SELECT \(first.kind), \(first.queue), a.args::jsonb, \(first.sellerID), \(first.priority),
                   COALESCE(\(first.runAt), now()), \(first.maxAttempts)
            FROM unnest(\(rows.map(\.args))::text[]) WITH ORDINALITY AS a (args, n)
            ORDER BY a.n
            RETURNING id
            """,
            logger: logger
        )
        var ids: [Int64] = []
        ids.reserveCapacity(rows.count)
        for try await id in inserted.decode(Int64.self) { ids.append(id) }
        return ids.sorted()
    }

    /// Checks an enqueue's fields without reaching the database, as `enqueue` does first.
    public static func validate<Kind: JobKind>(_ kind: Kind.Type, _ args: Kind.Args, _ options: JobOptions) throws {
        _ = try Self.row(kind, args, options)
    }

    struct Row {
        var kind: String
        var queue: String
        var args: String
        var sellerID: UUID?
        var priority: Int16
        var runAt: Date?
        var maxAttempts: Int
        var uniqueKey: String?
        var sequenceKey: String?
    }

    /// Arguments are stored with sorted keys, so equal arguments are equal text.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func row<Kind: JobKind>(
        _ kind: Kind.Type, _ args: Kind.Args, _ options: JobOptions, encoder: JSONEncoder = Jobs.encoder()
    ) throws -> Row {
        let queue = options.queue ?? Kind.queue
        try Self.checkName(queue, field: "queue")
        try Self.checkName(Kind.name, field: "kind")
        guard (-1000...1000).contains(options.priority) else {
            throw JobQueueError(field: "priority", problem: "must be between -1000 and 1000, got \(options.priority)")
        }
        let maxAttempts = options.maxAttempts ?? Kind.maxAttempts
        guard (1...1000).contains(maxAttempts) else {
            throw JobQueueError(field: "max_attempts", problem: "must be between 1 and 1000, got \(maxAttempts)")
        }
        if let key = options.uniqueKey, key.isEmpty || key.count > 200 {
            throw JobQueueError(field: "unique_key", problem: "must be 1 to 200 characters, got \(key.count)")
        }
        if let key = options.sequenceKey, key.isEmpty || key.count > 200 {
            throw JobQueueError(field: "sequence_key", problem: "must be 1 to 200 characters, got \(key.count)")
        }
        let json: Data
        do {
            json = try encoder.encode(args)
        } catch {
            throw JobQueueError(field: "args", problem: "do not encode as JSON: \(error)")
        }
        return Row(
            kind: Kind.name, queue: queue, args: String(decoding: json, as: UTF8.self), sellerID: options.sellerID,
            priority: options.priority, runAt: options.runAt, maxAttempts: maxAttempts, uniqueKey: options.uniqueKey,
            sequenceKey: options.sequenceKey)
    }

    static func checkName(_ name: String, field: String) throws {
        guard !name.isEmpty, name.count <= 100,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
        else {
            throw JobQueueError(field: field, problem: "\"\(name)\" must be 1 to 100 of A-Z a-z 0-9 _ - .")
        }
    }
}
