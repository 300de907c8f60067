import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// The seller's orders as CSV, one row per line item (Shopify's layout: the order's own fields on
/// its first row only, its id on every row), streamed in chunks.
///
/// Orders are read a page at a time in a short transaction each (keyset on (created_at, id)), so
/// memory is one page and one chunk however many orders there are, and a slow client holds no
/// database connection: the RPC stream waits for the client's credit between pages. PostgreSQL
/// sends the columns in its binary format and the cells are written from those bytes here
/// (`CSVLine`), without a String per cell.
///
/// Cells: text as given, quoted when it holds a comma, a quote or a line break; text a
/// spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return) gets
/// a leading apostrophe (OWASP's CSV injection advice), which the import takes off again. Money
/// in the currency's major units with its ISO 4217 decimals ("12.50", "1250" for JPY); times in
/// RFC 3339 UTC.
enum OrderExport {
    /// How a column's binary value becomes its cell.
    enum Kind: Sendable {
        case uuid, optionalUUID, text, time, money, int4
    }

    struct Column: Sendable {
        var header: String
        /// The column read (of `o`, the order, or `li`, the line item).
        var sql: String
        var kind: Kind
        /// An order field: on the order's first row only.
        var perOrder: Bool
    }

    static let columns: [Column] = [
        Column(header: "Id", sql: "o.id", kind: .uuid, perOrder: false),
        Column(header: "Email", sql: "o.customer_email", kind: .text, perOrder: true),
        Column(header: "Financial Status", sql: "o.financial_status", kind: .text, perOrder: true),
        Column(header: "Paid at", sql: "o.paid_at", kind: .time, perOrder: true),
        Column(header: "Fulfillment Status", sql: "o.fulfillment_status", kind: .text, perOrder: true),
        Column(header: "Order Status", sql: "o.order_status", kind: .text, perOrder: true),
        Column(header: "Currency", sql: "o.currency", kind: .text, perOrder: true),
        Column(header: "Subtotal", sql: "o.subtotal", kind: .money, perOrder: true),
        Column(header: "Shipping", sql: "o.shipping", kind: .money, perOrder: true),
        Column(header: "Taxes", sql: "o.tax", kind: .money, perOrder: true),
        Column(header: "Total", sql: "o.total", kind: .money, perOrder: true),
        Column(header: "Discount Amount", sql: "o.discount", kind: .money, perOrder: true),
        Column(header: "Refunded Amount", sql: "o.refunded", kind: .money, perOrder: true),
        Column(header: "Created at", sql: "o.created_at", kind: .time, perOrder: true),
        Column(header: "Cancel Reason", sql: "o.cancel_reason", kind: .text, perOrder: true),
        Column(header: "Lineitem quantity", sql: "li.quantity", kind: .int4, perOrder: false),
        Column(header: "Lineitem name", sql: "li.title", kind: .text, perOrder: false),
        Column(header: "Lineitem price", sql: "li.unit_price", kind: .money, perOrder: false),
        Column(header: "Lineitem sku", sql: "li.sku", kind: .text, perOrder: false),
        Column(header: "Lineitem fulfilled quantity", sql: "li.fulfilled_quantity", kind: .int4, perOrder: false),
        Column(header: "Lineitem returned quantity", sql: "li.returned_quantity", kind: .int4, perOrder: false),
        Column(header: "Shipping Name", sql: "o.ship_name", kind: .text, perOrder: true),
        Column(header: "Shipping Address1", sql: "o.ship_line1", kind: .text, perOrder: true),
        Column(header: "Shipping Address2", sql: "o.ship_line2", kind: .text, perOrder: true),
        Column(header: "Shipping City", sql: "o.ship_city", kind: .text, perOrder: true),
        Column(header: "Shipping Province", sql: "o.ship_region", kind: .text, perOrder: true),
        Column(header: "Shipping Zip", sql: "o.ship_postal_code", kind: .text, perOrder: true),
        Column(header: "Shipping Country", sql: "o.ship_country", kind: .text, perOrder: true),
        Column(header: "Phone", sql: "o.customer_phone", kind: .text, perOrder: true),
        Column(header: "Sell Page Id", sql: "o.sell_page_id", kind: .optionalUUID, perOrder: true),
        Column(header: "UTM Source", sql: "o.utm_source", kind: .text, perOrder: true),
        Column(header: "UTM Medium", sql: "o.utm_medium", kind: .text, perOrder: true),
        Column(header: "UTM Campaign", sql: "o.utm_campaign", kind: .text, perOrder: true),
        Column(header: "UTM Content", sql: "o.utm_content", kind: .text, perOrder: true),
        Column(header: "UTM Term", sql: "o.utm_term", kind: .text, perOrder: true),
    ]

    static let header = Self.columns.map(\.header).joined(separator: ",") + "\n"

    /// The select list: every column, then the line's position and the order's creation time in
    /// microseconds since 2000 (the keyset cursor, as PostgreSQL stores it).
    static let selectList = Self.columns.map(\.sql).joined(separator: ", ") + ", li.position"

    /// What to export.
    struct Filter: Sendable, Equatable {
        var createdAfter: Date?
        var createdBefore: Date?
        var financialStatus: FinancialStatus?
        var fulfillmentStatus: FulfillmentStatus?
        var orderStatus: OrderStatus?
        var sellPageID: UUID?
    }

    static func filter(_ request: Pixecom_Orders_V1_ExportOrdersRequest) throws -> Filter {
        var violations = FieldViolations()
        var filter = Filter()
        func time(_ text: String, field: String) -> Date? {
            guard !text.isEmpty else { return nil }
            guard let date = TrackingProvider.date(text) else {
                violations.add(field: field, "must be an RFC 3339 time (e.g. 2026-01-31T00:00:00Z), got \(text)")
                return nil
            }
            return date
        }
        filter.createdAfter = time(request.createdAfter, field: "created_after")
        filter.createdBefore = time(request.createdBefore, field: "created_before")
        if request.financialStatus != .unspecified {
            filter.financialStatus = FinancialStatus.allCases.first { $0.proto == request.financialStatus }
            if filter.financialStatus == nil { violations.add(field: "financial_status", "is not a known status") }
        }
        if request.fulfillmentStatus != .unspecified {
            filter.fulfillmentStatus = FulfillmentStatus(request.fulfillmentStatus)
            if filter.fulfillmentStatus == nil { violations.add(field: "fulfillment_status", "is not a known status") }
        }
        if request.status != .unspecified {
            filter.orderStatus = OrderStatus.allCases.first { $0.proto == request.status }
            if filter.orderStatus == nil { violations.add(field: "status", "is not a known status") }
        }
        if !request.sellPageID.isEmpty {
            filter.sellPageID = try violations.check { try RequestValidation.id(request.sellPageID, field: "sell_page_id") }
        }
        try violations.throwIfAny()
        return filter
    }

    /// Orders per page: each page is one short read (its own transaction, closed before the rows
    /// are sent).
    static let pageOrders = 10000

    /// One page of the export's rows after `cursor` (the last order's creation time in
    /// microseconds since 2000, and its id).
    static func page(sellerID: UUID, filter: Filter, after cursor: (micros: Int64, id: UUID)?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: Self.selectList)
        FROM (
            SELECT * FROM orders
            WHERE seller_id = \(sellerID)
              AND (\(cursor?.micros)::int8 IS NULL
                   OR (created_at, id) > (timestamptz '2000-01-01 00:00:00+00' + \(cursor?.micros)::int8 * interval '1 microsecond',
                                          \(cursor?.id)::uuid))
              AND (\(filter.createdAfter)::timestamptz IS NULL OR created_at >= \(filter.createdAfter))
              AND (\(filter.createdBefore)::timestamptz IS NULL OR created_at < \(filter.createdBefore))
              AND (\(filter.financialStatus?.rawValue)::text IS NULL OR financial_status = \(filter.financialStatus?.rawValue))
              AND (\(filter.fulfillmentStatus?.rawValue)::text IS NULL OR fulfillment_status = \(filter.fulfillmentStatus?.rawValue))
              AND (\(filter.orderStatus?.rawValue)::text IS NULL OR order_status = \(filter.orderStatus?.rawValue))
              AND (\(filter.sellPageID)::uuid IS NULL OR sell_page_id = \(filter.sellPageID))
            ORDER BY created_at, id
            LIMIT \(limit)
        ) o
        -- Each order's items by its key (a LATERAL join: the planner cannot pick a scan of every
        -- seller's line items for a page of orders).
        LEFT JOIN LATERAL (
            SELECT * FROM order_line_items i WHERE i.seller_id = o.seller_id AND i.order_id = o.id ORDER BY i.position
        ) li ON true
        ORDER BY o.created_at, o.id, li.position
        """
    }

    /// The bytes of one chunk: large enough that framing costs nothing, small enough that memory
    /// does not notice.
    static let chunkBytes = 64 * 1024

    /// One page read and formatted: its chunks (the last one possibly short), its rows, its
    /// orders, and the cursor after it.
    struct Page: Sendable {
        var chunks: [ByteBuffer] = []
        var rows = 0
        var orders = 0
        var last: Cursor?
    }

    struct Cursor: Sendable {
        var micros: Int64
        var id: UUID
    }

    /// Streams the export to `send`, a chunk at a time, reading a page of orders at a time (the
    /// keyset (created_at, id): every order once, in order, however long the download takes);
    /// returns the rows written (header aside). The next page is read while this one is sent, so
    /// the database and the stream work side by side. Memory: two pages and their chunks.
    static func stream(
        sellerID: UUID, filter: Filter, db: PostgresClient, logger: Logger, send: (ByteBuffer) async throws -> Void
    ) async throws -> Int {
        var count = 0
        var page = try await Self.read(sellerID: sellerID, filter: filter, after: nil, db: db, logger: logger)
        // Nothing is sent before the first page is read: a failure there is still an error
        // answer, not a cut-off file.
        var header = ByteBufferAllocator().buffer(capacity: 1024)
        header.writeString(Self.header)
        page.chunks.insert(header, at: 0)
        while true {
            let more = page.orders == Self.pageOrders ? page.last : nil
            async let next: Page? =
                if let more { try Self.read(sellerID: sellerID, filter: filter, after: more, db: db, logger: logger) } else { nil }
            for chunk in page.chunks { try await send(chunk) }
            count += page.rows
            guard let following = try await next else { break }
            page = following
        }
        return count
    }

    /// Reads and formats one page, in a short transaction of its own.
    static func read(sellerID: UUID, filter: Filter, after cursor: Cursor?, db: PostgresClient, logger: Logger) async throws -> Page {
        let idIndex = 0
        let createdIndex = Self.columns.firstIndex { $0.header == "Created at" }!
        let currencyIndex = Self.columns.firstIndex { $0.header == "Currency" }!
        return try await db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                Self.page(sellerID: sellerID, filter: filter, after: cursor.map { ($0.micros, $0.id) }, limit: Self.pageOrders),
                logger: logger)
            var page = Page()
            var line = CSVLine(buffer: ByteBufferAllocator().buffer(capacity: Self.chunkBytes + 8192))
            var lastCurrency: ByteBuffer?
            var exponent = 2
            var cells: [ByteBuffer?] = []
            cells.reserveCapacity(Self.columns.count + 1)
            for try await row in rows {
                cells.removeAll(keepingCapacity: true)
                for cell in row {
                    guard cell.format == .binary else { throw RPCError(.internal, "the export expected binary columns") }
                    cells.append(cell.bytes)
                }
                guard cells.count == Self.columns.count + 1, var id = cells[idIndex], var created = cells[createdIndex],
                    let idValue = id.readUUIDBytes(), let micros = created.readInteger(as: Int64.self)
                else { throw RPCError(.internal, "an export row is not the shape the export asks for") }
                var position: Int32 = 0
                if var bytes = cells[Self.columns.count], let value = bytes.readInteger(as: Int32.self) { position = value }
                let first = position == 0
                if first { page.orders += 1 }
                if let currency = cells[currencyIndex], currency != lastCurrency {
                    lastCurrency = currency
                    exponent = Self.exponent(of: currency)
                }
                for (index, column) in Self.columns.enumerated() {
                    if index > 0 { line.buffer.writeInteger(UInt8(ascii: ",")) }
                    guard first || !column.perOrder else { continue }
                    try line.write(cells[index], as: column.kind, exponent: exponent)
                }
                line.buffer.writeInteger(UInt8(ascii: "\n"))
                page.rows += 1
                page.last = Cursor(micros: micros, id: idValue)
                if line.buffer.readableBytes >= Self.chunkBytes {
                    page.chunks.append(line.buffer)
                    line.buffer = ByteBufferAllocator().buffer(capacity: Self.chunkBytes + 8192)
                }
            }
            if line.buffer.readableBytes > 0 { page.chunks.append(line.buffer) }
            return page
        }
    }

    /// The ISO 4217 decimals of a currency code's bytes (2 when unknown).
    static func exponent(of code: ByteBuffer) -> Int {
        Self.exponents[String(buffer: code)] ?? 2
    }

    static let exponents: [String: Int] = ISO4217.minorUnits

    /// Exports running at once in this process: each holds a stream, a page of rows and a chunk;
    /// more are refused (RESOURCE_EXHAUSTED), as the client can retry.
    static let running = ExportSlots(limit: 4)
}

/// Writes CSV cells from PostgreSQL's binary column values into a buffer.
struct CSVLine {
    var buffer: ByteBuffer

    mutating func write(_ value: ByteBuffer?, as kind: OrderExport.Kind, exponent: Int) throws {
        guard var value else { return }
        switch kind {
        case .uuid, .optionalUUID:
            guard value.readableBytes == 16 else { throw RPCError(.internal, "a uuid column is not 16 bytes") }
            self.writeUUID(value.readableBytesView)
        case .text:
            self.writeText(value)
        case .time:
            guard let micros = value.readInteger(as: Int64.self) else { throw RPCError(.internal, "a time column is not 8 bytes") }
            self.writeTime(microsSince2000: micros)
        case .money:
            guard let amount = value.readInteger(as: Int64.self) else { throw RPCError(.internal, "a money column is not 8 bytes") }
            self.writeMoney(amount, exponent: exponent)
        case .int4:
            guard let number = value.readInteger(as: Int32.self) else { throw RPCError(.internal, "an integer column is not 4 bytes") }
            self.buffer.writeString(String(number))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    mutating func writeUUID(_ bytes: ByteBufferView) {
        var index = 0
        for byte in bytes {
            if index == 4 || index == 6 || index == 8 || index == 10 { self.buffer.writeInteger(UInt8(ascii: "-")) }
            self.buffer.writeInteger(Self.hex[Int(byte >> 4)])
            self.buffer.writeInteger(Self.hex[Int(byte & 0x0F)])
            index += 1
        }
    }

    /// RFC 4180 quoting when the text needs it, and the formula guard.
    mutating func writeText(_ text: ByteBuffer) {
        let bytes = text.readableBytesView
        guard let first = bytes.first else { return }
        let formula =
            first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@")
            || first == 0x09 || first == 0x0D
        var quote = formula
        if !quote {
            for byte in bytes where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: ",") || byte == 0x0A || byte == 0x0D {
                quote = true
                break
            }
        }
        guard quote else {
            self.buffer.writeImmutableBuffer(text)
            return
        }
        self.buffer.writeInteger(UInt8(ascii: "\""))
        if formula { self.buffer.writeInteger(UInt8(ascii: "'")) }
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { self.buffer.writeInteger(byte) }
            self.buffer.writeInteger(byte)
        }
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// Minor units as major units with `exponent` decimals (amounts are never negative here).
    mutating func writeMoney(_ amount: Int64, exponent: Int) {
        guard exponent > 0 else {
            self.buffer.writeString(String(amount))
            return
        }
        var scale: Int64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let magnitude = amount.magnitude
        if amount < 0 { self.buffer.writeInteger(UInt8(ascii: "-")) }
        self.buffer.writeString(String(magnitude / UInt64(scale)))
        self.buffer.writeInteger(UInt8(ascii: "."))
        let fraction = String(magnitude % UInt64(scale))
        for _ in fraction.count..<exponent { self.buffer.writeInteger(UInt8(ascii: "0")) }
        self.buffer.writeString(fraction)
    }

    /// PostgreSQL's timestamptz (microseconds since 2000-01-01 UTC) as RFC 3339 UTC to the
    /// second.
    mutating func writeTime(microsSince2000 micros: Int64) {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let z = days + 10_957 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.digits(year, 4)
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.digits(month, 2)
        self.buffer.writeInteger(UInt8(ascii: "-"))
        self.digits(day, 2)
        self.buffer.writeInteger(UInt8(ascii: "T"))
        self.digits(secondOfDay / 3600, 2)
        self.buffer.writeInteger(UInt8(ascii: ":"))
        self.digits(secondOfDay / 60 % 60, 2)
        self.buffer.writeInteger(UInt8(ascii: ":"))
        self.digits(secondOfDay % 60, 2)
        self.buffer.writeInteger(UInt8(ascii: "Z"))
    }

    private mutating func digits(_ value: Int64, _ width: Int) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            self.buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (rest / divisor) % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}

extension ByteBuffer {
    /// 16 bytes as a UUID.
    mutating func readUUIDBytes() -> UUID? {
        guard let bytes = self.readBytes(length: 16) else { return nil }
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
                bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

/// A counter of running exports with a limit.
final class ExportSlots: Sendable {
    private let count = NIOLockedValueBox(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func take() -> Bool {
        self.count.withLockedValue { count in
            guard count < self.limit else { return false }
            count += 1
            return true
        }
    }

    func release() { self.count.withLockedValue { $0 -= 1 } }
}

extension OrderHandlers {
    func exportOrders(
        _ request: Pixecom_Orders_V1_ExportOrdersRequest, writer: ResponseWriter<Pixecom_Orders_V1_ExportChunk>, context: ServerContext
    ) async throws {
        let sellerID = try await self.seller(context)
        let filter = try OrderExport.filter(request)
        guard OrderExport.running.take() else {
            throw RPCError(.resourceExhausted, "\(OrderExport.running.limit) exports are running on this server; try again shortly")
        }
        defer { OrderExport.running.release() }
        let rows = try await OrderExport.stream(sellerID: sellerID, filter: filter, db: self.store.db, logger: context.logger) { chunk in
            var message = Pixecom_Orders_V1_ExportChunk()
            message.data = Data(buffer: chunk, byteTransferStrategy: .copy)
            try await writer.write(message)
        }
        context.logger.info("orders.exported", metadata: ["seller.id": "\(sellerID)", "export.rows": "\(rows)"])
    }
}
