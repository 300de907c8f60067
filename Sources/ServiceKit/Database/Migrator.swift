import Foundation
import Logging
import PostgresNIO

/// Applies numbered SQL migrations (`0001_name.sql`, ...) in order, each once, recorded in
/// `schema_migrations`.
///
/// Holds a session advisory lock while it runs, so replicas starting together apply each file
/// exactly once: the others wait, then find nothing left to do.
public struct Migrator: Sendable {
    /// Every service uses the same lock key in its own database.
    static let lockKey: Int64 = 0x7069_7865_636f_6d01

    public let directory: URL
    public let logger: Logger
    /// The table that records which files were applied.
    public let record: String

    /// The record tables of every migration set: the runtime role may read none of them.
    static let records = ["schema_migrations", "job_queue_migrations"]

    public init(directory: URL, logger: Logger) {
        self.init(directory: directory, record: "schema_migrations", logger: logger)
    }

    init(directory: URL, record: String, logger: Logger) {
        precondition(Self.records.contains(record), "unknown migration record \(record)")
        self.directory = directory
        self.record = record
        self.logger = logger
    }

    /// ServiceKit's job queue (`Jobs/`), in every service's database before its own migrations:
    /// the `jobs`, `job_leaders` and `job_cron_runs` tables, recorded in `job_queue_migrations`.
    public static func jobQueue(logger: Logger) -> Migrator {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            fatalError("ServiceKit's bundle lacks its Migrations folder (Package.swift copies Jobs/Migrations)")
        }
        return Migrator(directory: directory, record: "job_queue_migrations", logger: logger)
    }

    /// The migration files, sorted by their numeric prefix.
    public func files() throws -> [(version: Int, name: String, url: URL)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: self.directory.path)
        return try names.filter { $0.hasSuffix(".sql") }.map { name in
            guard let version = Int(name.prefix { $0.isNumber }) else {
                throw MigrationError(file: name, problem: "name must start with its number, e.g. 0001_create.sql")
            }
            return (version, name, self.directory.appendingPathComponent(name))
        }.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the names applied.
    @discardableResult
    public func run(on client: PostgresClient) async throws -> [String] {
        let files = try self.files()
        return try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: self.logger)
            do {
                let applied = try await self.apply(files, on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: self.logger)
                throw error
            }
        }
    }

    /// Lets `role` (the service's runtime role) read and write every table but the migration
    /// record, and use every sequence; run after `run`, as the owner. `role` must be a plain
    /// identifier (checked by `ServiceConfiguration`). Row-level security still binds it.
    public func grant(to role: String, on client: PostgresClient) async throws {
        guard !role.isEmpty, role.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw MigrationError(file: "(grants)", problem: "role name \"\(role)\" is not a plain identifier")
        }
        let quoted = "\"\(role)\""
        try await client.withConnection { connection in
            for statement in [
                "GRANT USAGE ON SCHEMA public TO \(quoted)",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \(quoted)",
                "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \(quoted)",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
            }
            for record in Self.records {
                let exists = try await connection.query("SELECT to_regclass(\(record)) IS NOT NULL", logger: self.logger)
                for try await present in exists.decode(Bool.self) where present {
                    try await connection.query(PostgresQuery(unsafeSQL: "REVOKE ALL ON \(record) FROM \(quoted)"), logger: self.logger)
                }
            }
        }
    }

    private func apply(_ files: [(version: Int, name: String, url: URL)], on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: self.record) (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: self.logger
        )
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM \(unescaped: self.record)", logger: self.logger).decode(
            Int.self)
        {
            done.insert(version)
        }
        var applied: [String] = []
        for file in files where !done.contains(file.version) {
            let sql = try String(contentsOf: file.url, encoding: .utf8)
            do {
                try await connection.withTransaction(logger: self.logger) { connection in
                    for statement in SQLScript.statements(sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                    }
                    try await connection.query(
                        "INSERT INTO \(unescaped: self.record) (version, name) VALUES (\(file.version), \(file.name))",
                        logger: self.logger
                    )
                }
            } catch {
                throw MigrationError(file: file.name, problem: "failed: \(String(reflecting: error))")
            }
            self.logger.info("migration.applied", metadata: ["migration.name": "\(file.name)"])
            applied.append(file.name)
        }
        return applied
    }
}

/// A migration file that cannot be applied.
public struct MigrationError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public var description: String { "migration \(self.file): \(self.problem)" }
}
