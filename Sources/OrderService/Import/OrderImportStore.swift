import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// An import as stored (`order_imports`).
struct OrderImportRecord: Sendable, Hashable {
    enum Status: String, Sendable, CaseIterable {
        case uploading = "UPLOADING"
        case queued = "QUEUED"
        case running = "RUNNING"
        case succeeded = "SUCCEEDED"
        case failed = "FAILED"

        var proto: Pixecom_Orders_V1_ImportStatus {
            switch self {
            case .uploading: .uploading
            case .queued: .queued
            case .running: .running
            case .succeeded: .succeeded
            case .failed: .failed
            }
        }
    }

    var id: UUID
    var kind: ImportKind
    var name: String
    var dryRun: Bool
    var status: Status
    var sizeBytes: Int64
    var receivedBytes: Int64
    var processedBytes: Int64
    var rows: Int
    var applied: Int
    var unchanged: Int
    var errors: Int
    var skipped: Int
    var created: Int
    var failure: String
    var createdAt: Date
    var finishedAt: Date?
    var expiresAt: Date

    static let columns = """
        id, kind, name, dry_run, status, size_bytes, received_bytes, processed_bytes, rows, applied_rows,
        unchanged_rows, error_rows, skipped_rows, created, failure, created_at, finished_at, expires_at
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [OrderImportRecord] {
        var records: [OrderImportRecord] = []
        for try await row in rows {
            let c = try row.decode(
                (
                    UUID, String, String, Bool, String, Int64, Int64, Int64, Int32, Int32, Int32, Int32, Int32, Int32, String, Date, Date?,
                    Date
                ).self)
            guard let kind = ImportKind(rawValue: c.1), let status = Status(rawValue: c.4) else {
                throw RPCError(.internal, "order_imports has a kind or status this build does not know")
            }
            records.append(
                OrderImportRecord(
                    id: c.0, kind: kind, name: c.2, dryRun: c.3, status: status, sizeBytes: c.5, receivedBytes: c.6, processedBytes: c.7,
                    rows: Int(c.8), applied: Int(c.9), unchanged: Int(c.10), errors: Int(c.11), skipped: Int(c.12), created: Int(c.13),
                    failure: c.14, createdAt: c.15, finishedAt: c.16, expiresAt: c.17))
        }
        return records
    }

    var proto: Pixecom_Orders_V1_OrderImport {
        var proto = Pixecom_Orders_V1_OrderImport()
        proto.importID = self.id.uuidString.lowercased()
        proto.kind = self.kind == .orders ? .orders : .fulfillments
        proto.name = self.name
        proto.dryRun = self.dryRun
        proto.status = self.status.proto
        proto.sizeBytes = self.sizeBytes
        proto.receivedBytes = self.receivedBytes
        proto.maxChunkBytes = Int32(OrderImportStore.maxChunkBytes)
        proto.processedBytes = self.processedBytes
        proto.rows = Int32(self.rows)
        proto.appliedRows = Int32(self.applied)
        proto.unchangedRows = Int32(self.unchanged)
        proto.errorRows = Int32(self.errors)
        proto.skippedRows = Int32(self.skipped)
        proto.created = Int32(self.created)
        proto.failure = self.failure
        proto.createTime = RequestValidation.timestamp(self.createdAt)
        proto.finishTime = self.finishedAt.map(RequestValidation.timestamp) ?? ""
        proto.expireTime = self.status == .uploading ? RequestValidation.timestamp(self.expiresAt) : ""
        return proto
    }
}

/// Imports' uploads, progress and errors. Uploading works like an asset's: Start names the size,
/// chunks arrive at their offsets (a chunk sent again at its offset with the same bytes is a
/// retry and accepted), Finish checks every byte came and queues the `orders.import` job.
struct OrderImportStore: Sendable {
    let db: PostgresClient

    /// 256 MiB: about 1.5 million rows of the export's layout.
    static let maxFileBytes: Int64 = 256 << 20
    static let maxChunkBytes = 1 << 20
    /// An upload not finished within a day is dropped (`OrderImportSweep`).
    static let uploadLifetime: TimeInterval = 24 * 3600

    static func notFound(_ id: UUID) -> RPCError { RPCError.notFound("order import \(id.uuidString.lowercased())") }

    static func start(
        kind: ImportKind, name: String, sizeBytes: Int64, dryRun: Bool, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> OrderImportRecord {
        let rows = try await connection.query(
            """
            INSERT INTO order_imports (seller_id, id, kind, name, dry_run, size_bytes, expires_at)
            VALUES (\(sellerID), \(UUID()), \(kind.rawValue), \(name), \(dryRun), \(sizeBytes),
                    clock_timestamp() + \(Self.uploadLifetime) * interval '1 second')
            RETURNING \(unescaped: OrderImportRecord.columns)
            """,
            logger: logger)
        guard let record = try await OrderImportRecord.decode(rows).first else { throw RPCError(.internal, "import not stored") }
        return record
    }

    static func load(_ id: UUID, sellerID: UUID, lock: Bool = false, on connection: PostgresConnection, logger: Logger) async throws
        -> OrderImportRecord
    {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: OrderImportRecord.columns) FROM order_imports WHERE seller_id = \(sellerID) AND id = \(id)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger)
        guard let record = try await OrderImportRecord.decode(rows).first else { throw Self.notFound(id) }
        return record
    }

    func get(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> OrderImportRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    func append(_ id: UUID, offset: Int64, data: Data, sellerID: UUID, logger: Logger) async throws -> OrderImportRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let upload = try await Self.load(id, sellerID: sellerID, lock: true, on: connection, logger: logger)
            guard upload.status == .uploading else {
                throw RPCError(.failedPrecondition, "order import \(id.uuidString.lowercased()) is finished uploading; start another")
            }
            let step = try await ChunkedUpload.step(
                data, at: offset, received: upload.receivedBytes, size: upload.sizeBytes, upload: "the import's"
            ) {
                let rows = try await connection.query(
                    """
                    SELECT data FROM order_import_chunks
                    WHERE seller_id = \(sellerID) AND import_id = \(id) AND start_offset = \(offset)
                    """,
                    logger: logger)
                var stored: Data?
                for try await bytes in rows.decode(Data.self) { stored = bytes }
                return stored
            }
            guard step == .append else { return upload }
            try await connection.query(
                "INSERT INTO order_import_chunks (seller_id, import_id, start_offset, data) VALUES (\(sellerID), \(id), \(offset), \(data))",
                logger: logger)
            let rows = try await connection.query(
                """
                UPDATE order_imports SET received_bytes = received_bytes + \(Int64(data.count))
                WHERE seller_id = \(sellerID) AND id = \(id)
                RETURNING \(unescaped: OrderImportRecord.columns)
                """,
                logger: logger)
            guard let record = try await OrderImportRecord.decode(rows).first else { throw Self.notFound(id) }
            return record
        }
    }

    /// Ends the upload and queues the job, in one transaction; a second Finish answers the import
    /// as it stands.
    func finish(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> OrderImportRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let upload = try await Self.load(id, sellerID: sellerID, lock: true, on: connection, logger: logger)
            guard upload.status == .uploading else { return upload }
            guard upload.receivedBytes == upload.sizeBytes else {
                throw RPCError(
                    .failedPrecondition,
                    "order import \(id.uuidString.lowercased()) has \(upload.receivedBytes) of its \(upload.sizeBytes) bytes; send the rest from offset \(upload.receivedBytes)"
                )
            }
            let rows = try await connection.query(
                """
                UPDATE order_imports SET status = 'QUEUED' WHERE seller_id = \(sellerID) AND id = \(id)
                RETURNING \(unescaped: OrderImportRecord.columns)
                """,
                logger: logger)
            guard let record = try await OrderImportRecord.decode(rows).first else { throw Self.notFound(id) }
            try await Jobs.enqueue(
                OrderImportJob.self, OrderImportJob.Args(sellerID: sellerID, importID: id), JobOptions(sellerID: sellerID),
                on: connection, logger: logger)
            logger.info(
                "orders.import.queued",
                metadata: [
                    "seller.id": "\(sellerID)", "import.id": "\(id)", "import.kind": "\(record.kind.rawValue)",
                    "import.dry_run": "\(record.dryRun)", "import.bytes": "\(record.sizeBytes)",
                ])
            return record
        }
    }

    /// A page of the import's errors by line, after line `after`; and whether more follow.
    func errors(_ id: UUID, after: Int, limit: Int, sellerID: UUID, logger: Logger) async throws -> (errors: [ImportRowError], more: Bool) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            _ = try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
            let rows = try await connection.query(
                """
                SELECT line, field, message FROM order_import_errors
                WHERE seller_id = \(sellerID) AND import_id = \(id) AND line > \(Int32(clamping: after))
                ORDER BY line LIMIT \(limit + 1)
                """,
                logger: logger)
            var errors: [ImportRowError] = []
            for try await (line, field, message) in rows.decode((Int32, String, String).self) {
                errors.append(ImportRowError(line: Int(line), field: field, message: message))
            }
            let more = errors.count > limit
            if more { errors.removeLast() }
            return (errors, more)
        }
    }
}

/// The hourly job that drops uploads not finished within their day, with their chunks.
struct OrderImportSweep: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static var name: String { "orders.import_sweep" }
    static var queue: String { "maintenance" }
    static var maxAttempts: Int { 3 }

    let db: PostgresClient

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let deleted = try await self.db.withTransaction(logger: job.logger) { connection in
            try await connection.query("SELECT set_config('app.import_sweep', 'on', true)", logger: job.logger)
            let rows = try await connection.query(
                "DELETE FROM order_imports WHERE status = 'UPLOADING' AND expires_at < now() RETURNING id", logger: job.logger)
            var count = 0
            for try await _ in rows.decode(UUID.self) { count += 1 }
            return count
        }
        job.logger.info("orders.import.swept", metadata: ["import.deleted": "\(deleted)"])
        return .completed
    }
}
