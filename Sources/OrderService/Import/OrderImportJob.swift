import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The job that reads an import's file and applies its rows (`orders.import`).
///
/// The chunks are read back in order a few MiB at a time and parsed as they come (`CSVReader`),
/// so memory is one read and one batch whatever the file's size. Rows are grouped (an order's
/// rows; a fulfillment's rows) and a batch of about `batchRows` rows is committed in one
/// transaction with its errors and the import's progress: the byte offset and line where the
/// next batch starts. An attempt that is stopped part-way (a deploy, a crash) resumes from that
/// offset, so nothing is counted or applied twice. No call leaves the service while a batch's
/// transaction is open: the stats events go through the outbox.
///
/// What makes a second run of the same file change nothing: an imported order keeps its name
/// (unique per seller), and an imported fulfillment is the one its order already has with that
/// tracking number. Those rows count as unchanged.
struct OrderImportJob: JobKind {
    struct Args: Codable, Sendable, Equatable {
        var sellerID: UUID
        var importID: UUID
    }

    static var name: String { "orders.import" }
    static var queue: String { "imports" }
    static var maxAttempts: Int { 10 }
    static var backoff: JobBackoff { JobBackoff(base: .seconds(5), cap: .seconds(600)) }
    /// The largest file, 256 MiB, at a tenth of the measured rate still fits.
    static var timeout: Duration { .seconds(4 * 3600) }

    /// Rows per committed batch.
    static let batchRows = 1000
    /// Bytes of chunks read per query.
    static let readBytes: Int64 = 4 << 20

    let db: PostgresClient

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let (sellerID, id) = (job.args.sellerID, job.args.importID)
        let logger = job.logger
        let record: OrderImportRecord?
        do {
            record = try await self.db.withSeller(sellerID, logger: logger) { connection -> OrderImportRecord? in
                let record = try await OrderImportStore.load(id, sellerID: sellerID, lock: true, on: connection, logger: logger)
                guard record.status == .queued || record.status == .running else { return nil }
                try await connection.query(
                    "UPDATE order_imports SET status = 'RUNNING' WHERE seller_id = \(sellerID) AND id = \(id)", logger: logger)
                return record
            }
        } catch let error as RPCError where error.code == .notFound {
            throw JobFailure.discard("order import \(id) is not stored")
        }
        guard let record else { return .completed }
        var run = ImportRun(record: record, sellerID: sellerID, db: self.db, logger: logger)
        do {
            try await run.readAll()
        } catch let failure as ImportFailure {
            try await run.fail(failure.description)
        } catch let failure as CSVReader.Failure {
            try await run.fail(failure.description)
        }
        return .completed
    }
}

/// One attempt at an import: the reader, the rows of the group still open, the groups waiting
/// for their batch.
struct ImportRun {
    var record: OrderImportRecord
    let sellerID: UUID
    let db: PostgresClient
    let logger: Logger
    private var reader = CSVReader()
    private var header: ImportHeader?
    private var open: [CSVReader.Row] = []
    private var groups: [[CSVReader.Row]] = []
    private var groupedRows = 0
    /// Group keys committed by this attempt: a key seen again is an order whose rows do not
    /// follow each other.
    private var seen: Set<String> = []
    /// A dry run's shipments so far, by order: what the real run would have recorded before the
    /// next group of the same order, so that group is checked as the real run would check it.
    private var planned: [UUID: PlannedShipments] = [:]

    init(record: OrderImportRecord, sellerID: UUID, db: PostgresClient, logger: Logger) {
        self.record = record
        self.sellerID = sellerID
        self.db = db
        self.logger = logger
    }

    mutating func readAll() async throws {
        var offset: Int64 = 0
        while offset < self.record.sizeBytes {
            let chunks = try await self.db.withSeller(self.sellerID, logger: self.logger) { connection in
                let rows = try await connection.query(
                    """
                    SELECT start_offset, data FROM order_import_chunks
                    WHERE seller_id = \(self.sellerID) AND import_id = \(self.record.id)
                      AND start_offset >= \(offset) AND start_offset < \(offset + OrderImportJob.readBytes)
                    ORDER BY start_offset
                    """,
                    logger: self.logger)
                var chunks: [(Int64, ByteBuffer)] = []
                for try await (start, data) in rows.decode((Int64, ByteBuffer).self) { chunks.append((start, data)) }
                return chunks
            }
            guard let first = chunks.first, first.0 == offset else {
                throw ImportFailure(description: "the file's bytes from \(offset) are missing (the upload was dropped?)")
            }
            for (start, data) in chunks {
                guard start == offset else { throw ImportFailure(description: "the file's bytes from \(offset) are missing") }
                var rows: [CSVReader.Row] = []
                try self.reader.feed(data.readableBytesView, into: &rows)
                try await self.take(rows)
                offset += Int64(data.readableBytes)
            }
        }
        var rows: [CSVReader.Row] = []
        try self.reader.finish(into: &rows)
        try await self.take(rows)
        if self.header == nil { throw ImportFailure(description: "the file is empty: it needs a header row and data rows") }
        if !self.open.isEmpty {
            self.groups.append(self.open)
            self.open = []
        }
        try await self.commit(final: true)
    }

    /// The key rows of one group share.
    private func key(_ row: CSVReader.Row) -> String {
        guard let header = self.header else { return "" }
        let reference = ImportRows.reference(row, header: header)
        guard !reference.isEmpty else { return "" }
        switch self.record.kind {
        case .orders: return reference
        case .fulfillments: return reference + "\u{0}" + header.value(row, "Tracking Number").uppercased().filter { $0 != " " }
        }
    }

    private mutating func take(_ rows: [CSVReader.Row]) async throws {
        for row in rows {
            guard self.header != nil else {
                self.header = try ImportHeader(row, kind: self.record.kind)
                continue
            }
            // Done by an earlier attempt.
            if row.start < self.record.processedBytes { continue }
            let key = self.key(row)
            if let first = self.open.first, key.isEmpty || self.key(first) != key {
                self.groups.append(self.open)
                self.open = []
            }
            self.open.append(row)
            self.groupedRows += 1
            if self.groupedRows - self.open.count >= OrderImportJob.batchRows { try await self.commit(final: false) }
        }
    }

    struct Outcome {
        var rows = 0
        var applied = 0
        var unchanged = 0
        var skipped = 0
        var created = 0
        var errors: [ImportRowError] = []
        /// A dry run of fulfillments: the shipments planned so far (`ImportRun.planned`).
        var planned: [UUID: PlannedShipments] = [:]
    }

    /// The shipments a dry run admitted for one order: their history entries and tracking numbers.
    struct PlannedShipments: Sendable {
        var entries: [OrderHistory.Entry] = []
        var numbers: Set<String> = []
    }

    /// Commits the complete groups: their effects (none in a dry run), errors and counts, and
    /// the offset where the open group starts (the end of the file when `final`).
    private mutating func commit(final: Bool) async throws {
        let groups = self.groups
        self.groups = []
        self.groupedRows = self.open.count
        // Where the next batch starts: the open group's first row, or the end of the file.
        let next = final ? self.record.sizeBytes : self.open[0].start
        guard let header = self.header else { return }
        let record = self.record
        let sellerID = self.sellerID
        let logger = self.logger
        let seen = self.seen
        let planned = self.planned
        self.planned = try await self.db.withSeller(sellerID, logger: logger) { connection in
            // One batch of this seller's imports at a time: two runs of one file cannot both
            // find an order missing and both create it.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext(\("orders.import:" + sellerID.uuidString)))", logger: logger)
            var outcome =
                switch record.kind {
                case .orders:
                    try await ImportApply.orders(
                        groups, header: header, record: record, seen: seen, sellerID: sellerID, on: connection, logger: logger)
                case .fulfillments:
                    try await ImportApply.fulfillments(
                        groups, header: header, record: record, seen: seen, planned: planned, sellerID: sellerID, on: connection,
                        logger: logger)
                }
            outcome.rows = groups.reduce(0) { $0 + $1.count }
            let errors = outcome.errors
            try await connection.query(
                """
                INSERT INTO order_import_errors (seller_id, import_id, line, field, message)
                SELECT \(sellerID), \(record.id), e.line, e.field, e.message
                FROM unnest(\(errors.map { Int32($0.line) })::int4[], \(errors.map(\.field))::text[],
                            \(errors.map { String($0.message.prefix(1000)) })::text[]) AS e(line, field, message)
                ON CONFLICT DO NOTHING
                """,
                logger: logger)
            try await connection.query(
                """
                UPDATE order_imports SET
                    processed_bytes = \(next),
                    rows = rows + \(Int32(outcome.rows)), applied_rows = applied_rows + \(Int32(outcome.applied)),
                    unchanged_rows = unchanged_rows + \(Int32(outcome.unchanged)),
                    error_rows = error_rows + \(Int32(errors.count)), skipped_rows = skipped_rows + \(Int32(outcome.skipped)),
                    created = created + \(Int32(outcome.created)),
                    status = \(final ? "SUCCEEDED" : "RUNNING"), finished_at = \(final ? Date() : nil)
                WHERE seller_id = \(sellerID) AND id = \(record.id)
                """,
                logger: logger)
            if final {
                try await connection.query(
                    "DELETE FROM order_import_chunks WHERE seller_id = \(sellerID) AND import_id = \(record.id)", logger: logger)
            }
            return outcome.planned
        }
        for group in groups { self.seen.insert(self.key(group[0])) }
        self.record.processedBytes = next
        if final {
            logger.info(
                "orders.import.finished",
                metadata: ["seller.id": "\(sellerID)", "import.id": "\(record.id)", "import.dry_run": "\(record.dryRun)"])
        }
    }

    /// Ends the import as FAILED with `reason` (the rows committed before stay applied and
    /// counted); the chunks are dropped.
    func fail(_ reason: String) async throws {
        try await self.db.withSeller(self.sellerID, logger: self.logger) { connection in
            try await connection.query(
                """
                UPDATE order_imports SET status = 'FAILED', failure = \(String(reason.prefix(1000))), finished_at = now()
                WHERE seller_id = \(self.sellerID) AND id = \(self.record.id)
                """,
                logger: self.logger)
            try await connection.query(
                "DELETE FROM order_import_chunks WHERE seller_id = \(self.sellerID) AND import_id = \(self.record.id)", logger: self.logger)
        }
        self.logger.warning(
            "orders.import.failed",
            metadata: ["seller.id": "\(self.sellerID)", "import.id": "\(self.record.id)", "import.failure": "\(reason)"])
    }
}
