import Crypto
import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's asset: an image, video or text, kept once per seller by the SHA-256 of its bytes.
struct AssetRecord: StoredObject {
    static let table = ObjectTable(
        name: "assets",
        noun: "asset",
        source: "assets o",
        columns: "o.id, o.type, o.name, o.mime_type, o.size_bytes, o.sha256, o.width, o.height, o.text, o.created_at",
        parentColumn: nil,
        hasStatus: false
    )

    var id: UUID
    var type: AssetType
    var name: String
    var mimeType: String
    var sizeBytes: Int64
    var sha256: Data
    var width: Int?
    var height: Int?
    var text: String?
    var createdAt: Date

    init(row: PostgresRow) throws {
        let type: String
        (self.id, type, self.name, self.mimeType, self.sizeBytes, self.sha256, self.width, self.height, self.text, self.createdAt) =
            try row.decode((UUID, String, String, String, Int64, Data, Int?, Int?, String?, Date).self)
        guard let known = AssetType(rawValue: type) else { throw UnreadableRowError(table: Self.table.name, column: "type", value: type) }
        self.type = known
    }

    var message: Pixecom_Campaign_V1_Asset {
        .with {
            $0.id = self.id.wireText
            $0.type = self.type.rawValue
            $0.name = self.name
            $0.mimeType = self.mimeType
            $0.sizeBytes = self.sizeBytes
            $0.sha256 = self.sha256.hexText
            $0.width = Int32(self.width ?? 0)
            $0.height = Int32(self.height ?? 0)
            $0.text = self.text ?? ""
            $0.createTime = RequestValidation.timestamp(self.createdAt)
        }
    }
}

/// An upload in progress (or finished: then `assetID` names what it made or found).
struct AssetUploadRecord: Sendable {
    var id: UUID
    var name: String
    var declaredType: AssetType?
    var sizeBytes: Int64
    var receivedBytes: Int64
    var expiresAt: Date
    var assetID: UUID?
    var deduplicated: Bool

    static let columns = "id, name, declared_type, size_bytes, received_bytes, expires_at, asset_id, deduplicated"

    init(row: PostgresRow) throws {
        let declared: String?
        (self.id, self.name, declared, self.sizeBytes, self.receivedBytes, self.expiresAt, self.assetID, self.deduplicated) =
            try row.decode((UUID, String, String?, Int64, Int64, Date, UUID?, Bool).self)
        self.declaredType = declared.flatMap(AssetType.init(rawValue:))
    }

    var message: Pixecom_Campaign_V1_AssetUpload {
        .with {
            $0.uploadID = self.id.wireText
            $0.sizeBytes = self.sizeBytes
            $0.receivedBytes = self.receivedBytes
            $0.maxChunkBytes = Int32(AssetStore.maxChunkBytes)
            $0.expireTime = RequestValidation.timestamp(self.expiresAt)
        }
    }

    static func notFound(_ id: UUID) -> RPCError {
        RPCError(.notFound, "asset upload \(id.wireText) not found: it never existed, or expired unfinished (uploads last 24 hours)")
    }
}

/// Assets and their uploads (docs/API.md, "Assets"). An upload is started with its size, which
/// counts against the plan's asset storage until it finishes; its chunks arrive in order, each at
/// its byte offset; Finish reads them back, hashes and identifies the bytes, and makes the asset,
/// or answers the seller's earlier asset with the same bytes and drops the chunks. No method holds
/// a transaction while it waits on anything but the database.
struct AssetStore: Sendable {
    /// The largest chunk an Append takes (a chunk is one row; RPC frames go to 4 MiB).
    static let maxChunkBytes = 1 << 20
    /// How long an upload may stay unfinished before the sweep drops it.
    static let uploadLifetime: TimeInterval = 24 * 3600
    /// Chunks read back per query at Finish: the memory one Finish holds.
    static let chunksPerRead = 8

    let db: PostgresClient

    // MARK: - Uploads

    func start(name: String, sizeBytes: Int64, declaredType: AssetType?, caller: Caller) async throws -> AssetUploadRecord {
        let limit = PlanLimits.of(plan: caller.plan).assetStorageBytes
        let id = UUID()
        let expiresAt = Date().addingTimeInterval(Self.uploadLifetime)
        return try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            // One start at a time per seller, so two cannot both fit in the last free bytes.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended('asset_storage:' || \(caller.sellerID.wireText), 0))", logger: caller.logger)
            let used = try await Self.storageUsed(sellerID: caller.sellerID, on: connection, logger: caller.logger)
            guard used + sizeBytes <= limit else {
                throw RPCError(
                    .failedPrecondition,
                    "the \(caller.plan.lowercased()) plan keeps \(AssetType.describe(bytes: limit)) of assets; this seller uses \(used) bytes (uploads in progress included) and this upload needs \(sizeBytes) more. Delete assets or upgrade the plan",
                    fieldViolations: [.init(field: "size_bytes", description: "does not fit in the plan's asset storage")])
            }
            let rows = try await connection.query(
                """
                INSERT INTO asset_uploads (seller_id, id, name, declared_type, size_bytes, expires_at)
                VALUES (\(caller.sellerID), \(id), \(name), \(declaredType?.rawValue), \(sizeBytes), \(expiresAt))
                RETURNING \(unescaped: AssetUploadRecord.columns)
                """,
                logger: caller.logger)
            guard let upload = try await rows.collect().first.map(AssetUploadRecord.init(row:)) else {
                throw UnreadableRowError(table: "asset_uploads", column: "*", value: "the row just inserted is not there")
            }
            return upload
        }
    }

    /// Bytes the seller's assets take, with the declared sizes of unfinished live uploads.
    static func storageUsed(sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            """
            SELECT (SELECT coalesce(sum(size_bytes), 0) FROM assets WHERE seller_id = \(sellerID))::bigint
                 + (SELECT coalesce(sum(size_bytes), 0) FROM asset_uploads
                    WHERE seller_id = \(sellerID) AND asset_id IS NULL AND expires_at > now())::bigint
            """,
            logger: logger)
        for try await used in rows.decode(Int64.self) { return used }
        return 0
    }

    /// Stores `data` at `offset`, which must be the bytes received so far; a chunk sent again at
    /// the offset it was stored at, with the same bytes, is a retry and changes nothing.
    func append(uploadID: UUID, offset: Int64, data: Data, caller: Caller) async throws -> AssetUploadRecord {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let upload = try await Self.upload(uploadID, sellerID: caller.sellerID, lock: true, on: connection, logger: caller.logger)
            guard upload.assetID == nil else {
                throw RPCError(.failedPrecondition, "asset upload \(uploadID.wireText) is finished; start another to send more")
            }
            let step = try await ChunkedUpload.step(
                data, at: offset, received: upload.receivedBytes, size: upload.sizeBytes, upload: "the upload's"
            ) {
                let rows = try await connection.query(
                    """
                    SELECT data FROM asset_chunks
                    WHERE seller_id = \(caller.sellerID) AND content_id = \(uploadID) AND start_offset = \(offset)
                    """,
                    logger: caller.logger)
                var stored: Data?
                for try await bytes in rows.decode(Data.self) { stored = bytes }
                return stored
            }
            guard step == .append else { return upload }
            try await connection.query(
                """
                INSERT INTO asset_chunks (seller_id, content_id, start_offset, data)
                VALUES (\(caller.sellerID), \(uploadID), \(offset), \(data))
                """,
                logger: caller.logger)
            let rows = try await connection.query(
                """
                UPDATE asset_uploads SET received_bytes = received_bytes + \(Int64(data.count))
                WHERE seller_id = \(caller.sellerID) AND id = \(uploadID)
                RETURNING \(unescaped: AssetUploadRecord.columns)
                """,
                logger: caller.logger)
            guard let updated = try await rows.collect().first.map(AssetUploadRecord.init(row:)) else {
                throw AssetUploadRecord.notFound(uploadID)
            }
            return updated
        }
    }

    /// The asset an upload makes: its bytes read back and identified (a refused upload is dropped
    /// with its chunks, and the error says why), then stored, or the seller's earlier asset with
    /// the same bytes. A second Finish answers the same.
    func finish(uploadID: UUID, expectedSHA256: Data?, caller: Caller) async throws -> (asset: AssetRecord, deduplicated: Bool) {
        let upload = try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await Self.upload(uploadID, sellerID: caller.sellerID, lock: false, on: connection, logger: caller.logger)
        }
        if let assetID = upload.assetID {
            return (try await self.asset(assetID, caller: caller), upload.deduplicated)
        }
        guard upload.receivedBytes == upload.sizeBytes else {
            throw RPCError(
                .failedPrecondition,
                "asset upload \(uploadID.wireText) has \(upload.receivedBytes) of its \(upload.sizeBytes) bytes; send the rest from offset \(upload.receivedBytes) first"
            )
        }
        let read = try await self.readBack(uploadID, upload: upload, caller: caller)
        let content: AssetContent
        do {
            content = try Self.check(read, upload: upload, expectedSHA256: expectedSHA256)
        } catch let refusal as RPCError {
            try await self.drop(uploadID, caller: caller)
            throw RPCError(
                refusal.code, refusal.message + " (the upload is dropped; start again with the right file)",
                fieldViolations: refusal.fieldViolations)
        }
        let text = content.type == .text ? String(decoding: read.head, as: UTF8.self) : nil
        return try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            // Concurrent Finishes of one upload: the first stores, the others answer it.
            let now = try await Self.upload(uploadID, sellerID: caller.sellerID, lock: true, on: connection, logger: caller.logger)
            if let assetID = now.assetID {
                return (
                    try await ObjectQueries.require(
                        AssetRecord.self, sellerID: caller.sellerID, id: assetID, on: connection, logger: caller.logger), now.deduplicated
                )
            }
            let id = UUID()
            let inserted = try await connection.query(
                """
                INSERT INTO assets (seller_id, id, type, name, mime_type, size_bytes, sha256, width, height, content_id, text)
                VALUES (\(caller.sellerID), \(id), \(content.type.rawValue), \(upload.name), \(content.mimeType), \(upload.sizeBytes),
                        \(read.sha256), \(content.width), \(content.height), \(uploadID), \(text))
                ON CONFLICT (seller_id, sha256) DO NOTHING
                RETURNING id
                """,
                logger: caller.logger)
            let fresh = try await inserted.collect().isEmpty == false
            let assetID: UUID
            if fresh {
                assetID = id
            } else {
                // The seller has these bytes already: that asset is the answer, these chunks go.
                let rows = try await connection.query(
                    "SELECT id FROM assets WHERE seller_id = \(caller.sellerID) AND sha256 = \(read.sha256)", logger: caller.logger)
                var existing: UUID?
                for try await found in rows.decode(UUID.self) { existing = found }
                guard let existing else {
                    throw UnreadableRowError(table: "assets", column: "sha256", value: "a conflicting row that is not there")
                }
                assetID = existing
                try await connection.query(
                    "DELETE FROM asset_chunks WHERE seller_id = \(caller.sellerID) AND content_id = \(uploadID)", logger: caller.logger)
            }
            try await connection.query(
                """
                UPDATE asset_uploads SET asset_id = \(assetID), deduplicated = \(!fresh)
                WHERE seller_id = \(caller.sellerID) AND id = \(uploadID)
                """,
                logger: caller.logger)
            let asset = try await ObjectQueries.require(
                AssetRecord.self, sellerID: caller.sellerID, id: assetID, on: connection, logger: caller.logger)
            return (asset, !fresh)
        }
    }

    /// What Finish learns from the bytes: their hash, the first chunk, and whether they are whole.
    struct ReadBack: Sendable {
        var sha256: Data
        var head: [UInt8]
        var whole: Bool
    }

    /// Reads the upload's chunks back in order, a few at a time, hashing them; keeps the first
    /// chunk (all of a text's bytes, which is one chunk at most) for identification.
    private func readBack(_ uploadID: UUID, upload: AssetUploadRecord, caller: Caller) async throws -> ReadBack {
        var hasher = SHA256()
        var head: [UInt8] = []
        var next: Int64 = 0
        var chunks = 0
        while next < upload.sizeBytes {
            let query: PostgresQuery = """
                SELECT start_offset, data FROM asset_chunks
                WHERE seller_id = \(caller.sellerID) AND content_id = \(uploadID) AND start_offset >= \(next)
                ORDER BY start_offset LIMIT \(Self.chunksPerRead)
                """
            let rows = try await self.db.readAsSeller(caller.sellerID, query, logger: caller.logger) { try $0.decode((Int64, Data).self) }
            guard !rows.isEmpty else { break }
            for (offset, data) in rows {
                guard offset == next else {
                    throw UnreadableRowError(table: "asset_chunks", column: "start_offset", value: "\(offset) where \(next) was due")
                }
                hasher.update(data: data)
                if chunks == 0 { head = Array(data) }
                chunks += 1
                next += Int64(data.count)
            }
        }
        guard next == upload.sizeBytes else {
            throw UnreadableRowError(table: "asset_chunks", column: "data", value: "\(next) bytes stored of \(upload.sizeBytes) received")
        }
        return ReadBack(sha256: Data(hasher.finalize()), head: head, whole: chunks == 1)
    }

    /// The identified content of `read`, or why the upload is refused.
    static func check(_ read: ReadBack, upload: AssetUploadRecord, expectedSHA256: Data?) throws -> AssetContent {
        if let expectedSHA256, expectedSHA256 != read.sha256 {
            throw RPCError.invalidArgument(
                field: "sha256",
                "is \(expectedSHA256.hexText) but the bytes received hash to \(read.sha256.hexText)"
            )
        }
        let content = try AssetContent.identify(read.head, whole: read.whole, field: "data")
        if let declared = upload.declaredType, declared != content.type {
            throw RPCError.invalidArgument(
                field: "type",
                "says \(declared.rawValue) but the bytes are \(content.type.noun) (\(content.mimeType)), told by their content")
        }
        guard upload.sizeBytes <= content.type.maxBytes else {
            throw RPCError.invalidArgument(
                field: "size_bytes",
                "is \(upload.sizeBytes); \(content.type.noun) may be at most \(AssetType.describe(bytes: content.type.maxBytes))")
        }
        return content
    }

    /// Deletes an unfinished upload and its chunks.
    private func drop(_ uploadID: UUID, caller: Caller) async throws {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await connection.query(
                "DELETE FROM asset_chunks WHERE seller_id = \(caller.sellerID) AND content_id = \(uploadID)", logger: caller.logger)
            try await connection.query(
                "DELETE FROM asset_uploads WHERE seller_id = \(caller.sellerID) AND id = \(uploadID) AND asset_id IS NULL",
                logger: caller.logger)
        }
    }

    private static func upload(
        _ id: UUID, sellerID: UUID, lock: Bool, on connection: PostgresConnection, logger: Logger
    ) async throws -> AssetUploadRecord {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: AssetUploadRecord.columns) FROM asset_uploads
            WHERE seller_id = \(sellerID) AND id = \(id) AND (asset_id IS NOT NULL OR expires_at > now())
            \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger)
        guard let upload = try await rows.collect().first.map(AssetUploadRecord.init(row:)) else { throw AssetUploadRecord.notFound(id) }
        return upload
    }

    // MARK: - Assets

    func asset(_ id: UUID, caller: Caller) async throws -> AssetRecord {
        try await ObjectStore(db: self.db).get(AssetRecord.self, id: id, sellerID: caller.sellerID, logger: caller.logger)
    }

    /// Deletes the asset, its bytes and the uploads that pointed at it; FAILED_PRECONDITION when a
    /// creative holds it, false when there was none.
    func delete(_ id: UUID, caller: Caller) async throws -> Bool {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            // Locked first: a creative being made with it share-locks it, so one waits for the other.
            try await connection.query(
                "SELECT id FROM assets WHERE seller_id = \(caller.sellerID) AND id = \(id) FOR UPDATE", logger: caller.logger)
            let users = try await connection.query(
                "SELECT creative_id FROM creative_assets WHERE seller_id = \(caller.sellerID) AND asset_id = \(id) LIMIT 1",
                logger: caller.logger)
            for try await creative in users.decode(UUID.self) {
                throw RPCError(
                    .failedPrecondition,
                    "\(AssetRecord.table.describe(id)) is used by \(CreativeRecord.table.describe(creative)); delete the creatives that use it first"
                )
            }
            let rows = try await connection.query(
                "DELETE FROM assets WHERE seller_id = \(caller.sellerID) AND id = \(id) RETURNING content_id", logger: caller.logger)
            var contentID: UUID?
            for try await found in rows.decode(UUID.self) { contentID = found }
            guard let contentID else { return false }
            try await connection.query(
                "DELETE FROM asset_chunks WHERE seller_id = \(caller.sellerID) AND content_id = \(contentID)", logger: caller.logger)
            try await connection.query(
                "DELETE FROM asset_uploads WHERE seller_id = \(caller.sellerID) AND asset_id = \(id)", logger: caller.logger)
            return true
        }
    }

    /// The bytes of an asset, in order (tests; the content route to come reads them the same way).
    func content(of asset: AssetRecord, caller: Caller) async throws -> Data {
        let query: PostgresQuery = """
            SELECT c.data FROM asset_chunks c JOIN assets a ON a.seller_id = c.seller_id AND a.content_id = c.content_id
            WHERE a.seller_id = \(caller.sellerID) AND a.id = \(asset.id) ORDER BY c.start_offset
            """
        return try await self.db.readAsSeller(caller.sellerID, query, logger: caller.logger) { try $0.decode(Data.self) }
            .reduce(into: Data()) { $0.append($1) }
    }

    // MARK: - The sweep

    /// Drops up to `limit` unfinished uploads past their expiry, across sellers, with their
    /// chunks; returns how many.
    func sweepExpired(limit: Int, logger: Logger) async throws -> Int {
        try await self.db.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.asset_sweep', 'on', true)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT seller_id, id FROM asset_uploads WHERE asset_id IS NULL AND expires_at < now()
                ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """,
                logger: logger)
            var expired: [(UUID, UUID)] = []
            for try await pair in rows.decode((UUID, UUID).self) { expired.append(pair) }
            for (seller, id) in expired {
                try await connection.query("DELETE FROM asset_chunks WHERE seller_id = \(seller) AND content_id = \(id)", logger: logger)
                try await connection.query("DELETE FROM asset_uploads WHERE seller_id = \(seller) AND id = \(id)", logger: logger)
            }
            return expired.count
        }
    }
}

/// Drops uploads left unfinished past their 24 hours, with their chunks, so they stop counting
/// against the plan's storage. Every 15 minutes, in batches of 100.
struct AssetUploadSweep: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static let name = "campaign.asset_upload_sweep"
    static let schedule = "*/15 * * * *"
    static let timeout: Duration = .seconds(300)
    static let batch = 100

    let store: AssetStore

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        var dropped = 0
        while true {
            let count = try await self.store.sweepExpired(limit: Self.batch, logger: job.logger)
            dropped += count
            if count < Self.batch { break }
        }
        if dropped > 0 { job.logger.info("asset_uploads.expired_dropped", metadata: ["uploads.count": "\(dropped)"]) }
        return .completed
    }
}
