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

    /// The select list: one anonymous record of every column and then the line's position.
    /// PostgreSQL sends a record in its binary format as one value (its fields' count, then each
    /// field's type, length and bytes), which `RecordFields` reads in place: one cell per row for
    /// PostgresNIO to hand over instead of 36, each of which costs more than writing it.
    static let selectList = "ROW(" + (Self.columns.map(\.sql) + ["li.position"]).joined(separator: ", ") + ")"

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

    /// What an `orders` query over a key range returns.
    enum Select {
        /// The export's rows of at most `limit` orders.
        case rows(limit: Int)
        /// The key of the `offset + 1`th order.
        case key(offset: Int)
    }

    /// A query of the orders the filter picks in the key range (created_at, id) in `(after,
    /// through]` (either end open when nil), in key order.
    static func query(_ select: Select, sellerID: UUID, filter: Filter, after: Cursor?, through: Cursor?) -> PostgresQuery {
        let (head, tail): (String, String) =
            switch select {
            case .rows(let limit):
                (
                    "SELECT \(Self.selectList) FROM (SELECT * FROM orders",
                    """
                    LIMIT \(limit)) o
                    -- Each order's items by its key (a LATERAL join: the planner cannot pick a scan of
                    -- every seller's line items for a page of orders).
                    LEFT JOIN LATERAL (
                        SELECT * FROM order_line_items i WHERE i.seller_id = o.seller_id AND i.order_id = o.id ORDER BY i.position
                    ) li ON true
                    ORDER BY o.created_at, o.id, li.position
                    """
                )
            case .key(let offset): ("SELECT created_at, id FROM orders", "OFFSET \(offset) LIMIT 1")
            }
        return """
            \(unescaped: head)
            WHERE seller_id = \(sellerID)
              AND (\(after?.micros)::int8 IS NULL
                   OR (created_at, id) > (timestamptz '2000-01-01 00:00:00+00' + \(after?.micros)::int8 * interval '1 microsecond',
                                          \(after?.id)::uuid))
              AND (\(through?.micros)::int8 IS NULL
                   OR (created_at, id) <= (timestamptz '2000-01-01 00:00:00+00' + \(through?.micros)::int8 * interval '1 microsecond',
                                           \(through?.id)::uuid))
              AND (\(filter.createdAfter)::timestamptz IS NULL OR created_at >= \(filter.createdAfter))
              AND (\(filter.createdBefore)::timestamptz IS NULL OR created_at < \(filter.createdBefore))
              AND (\(filter.financialStatus?.rawValue)::text IS NULL OR financial_status = \(filter.financialStatus?.rawValue))
              AND (\(filter.fulfillmentStatus?.rawValue)::text IS NULL OR fulfillment_status = \(filter.fulfillmentStatus?.rawValue))
              AND (\(filter.orderStatus?.rawValue)::text IS NULL OR order_status = \(filter.orderStatus?.rawValue))
              AND (\(filter.sellPageID)::uuid IS NULL OR sell_page_id = \(filter.sellPageID))
            ORDER BY created_at, id
            \(unescaped: tail)
            """
    }

    /// The key of the `count`th order after `after` (nil when fewer remain): the end of the next
    /// range, found from the index alone before the range is read.
    static func boundary(sellerID: UUID, filter: Filter, after: Cursor?, count: Int, db: PostgresClient, logger: Logger) async throws
        -> Cursor?
    {
        let query = Self.query(.key(offset: count - 1), sellerID: sellerID, filter: filter, after: after, through: nil)
        return try await db.readAsSeller(sellerID, query, logger: logger) { row in
            var cells = row.makeIterator()
            guard var created = cells.next()?.bytes, let micros = created.readInteger(as: Int64.self),
                let id = try cells.next()?.decode(UUID.self)
            else { throw RPCError(.internal, "an export boundary is not a creation time and an id") }
            return Cursor(micros: micros, id: id)
        }.first
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

    struct Cursor: Sendable, Equatable {
        var micros: Int64
        var id: UUID
    }

    /// Streams the export to `send`, a chunk at a time; returns the rows written (header aside).
    ///
    /// The orders are cut into ranges of the keyset (created_at, id) of `rangeOrders` orders each,
    /// whose ends are found from the index ahead of time (`boundary`); each range is read as
    /// pages of at most `pageOrders` orders (a range holds more only when orders were written
    /// into it since its end was found), and every order is sent once, in order, however long
    /// the download takes. Two ranges are in hand at a time, the next to send and the one after,
    /// read at once on two connections (PostgreSQL runs each read on one core, the formatting
    /// here beside it); each is sent as soon as it is read and those before it are sent.
    /// Memory: two pages and their chunks, three while a range that gained orders is read on.
    static func stream(
        sellerID: UUID, filter: Filter, db: PostgresClient, logger: Logger,
        pageOrders: Int = Self.pageOrders, rangeOrders: Int = Self.pageOrders,
        send: (ByteBuffer) async throws -> Void
    ) async throws -> Int {
        struct Range: Sendable {
            var after: Cursor?
            var through: Cursor?
        }
        let read: @Sendable (Range) async throws -> Page = { range in
            try await Self.read(
                sellerID: sellerID, filter: filter, after: range.after, through: range.through, limit: pageOrders, db: db, logger: logger)
        }
        return try await withThrowingTaskGroup(of: (Int, Range, Page).self) { group in
            var count = 0
            var scheduled = 0
            var sent = 0
            var done: [Int: (Range, Page)] = [:]
            var next: Range? = Range(after: nil, through: nil)
            while true {
                // Keep two ranges in flight, finding each one's end just before it is read.
                while scheduled - sent < 2, var range = next {
                    range.through = try await Self.boundary(
                        sellerID: sellerID, filter: filter, after: range.after, count: rangeOrders, db: db, logger: logger)
                    let (index, chosen) = (scheduled, range)
                    group.addTask { (index, chosen, try await read(chosen)) }
                    scheduled += 1
                    next = range.through.map { Range(after: $0, through: nil) }
                }
                guard sent < scheduled else { break }
                while done[sent] == nil {
                    guard let (index, range, page) = try await group.next() else { break }
                    done[index] = (range, page)
                }
                guard var (range, page) = done.removeValue(forKey: sent) else {
                    throw RPCError(.internal, "an export range was read but not returned")
                }
                if sent == 0 {
                    // Nothing is sent before the first range is read: a failure there is still
                    // an error answer, not a cut-off file.
                    var header = ByteBufferAllocator().buffer(capacity: 1024)
                    header.writeString(Self.header)
                    try await send(header)
                }
                while true {
                    for chunk in page.chunks { try await send(chunk) }
                    count += page.rows
                    // A full page that did not reach the range's end: the range has more orders.
                    guard page.orders == pageOrders, let last = page.last, last != range.through else { break }
                    range.after = last
                    page = try await read(range)
                }
                sent += 1
            }
            return count
        }
    }

    /// Reads and formats one page, in a short transaction of its own.
    ///
    /// JIT is off for the page's query: PostgreSQL would compile its expressions afresh for every
    /// page (the plan's cost is above `jit_above_cost`), which takes longer than running them.
    static func read(
        sellerID: UUID, filter: Filter, after: Cursor?, through: Cursor?, limit: Int, db: PostgresClient, logger: Logger
    ) async throws -> Page {
        let columns = Self.columns
        let kinds = columns.map(\.kind)
        let perOrder = columns.map(\.perOrder)
        let createdIndex = columns.firstIndex { $0.header == "Created at" }!
        let currencyIndex = columns.firstIndex { $0.header == "Currency" }!
        let positionIndex = columns.count
        return try await db.withSeller(sellerID, logger: logger) { connection in
            try await connection.query("SELECT set_config('jit', 'off', true)", logger: logger)
            let rows = try await connection.query(
                Self.query(.rows(limit: limit), sellerID: sellerID, filter: filter, after: after, through: through),
                logger: logger)
            var page = Page()
            var buffer = ByteBufferAllocator().buffer(capacity: Self.chunkBytes + 8192)
            var fields = RecordFields(count: columns.count + 1)
            var currency = CurrencyExponent()
            for try await row in rows {
                guard let cell = row.first, cell.format == .binary, let record = cell.bytes else {
                    throw RPCError(.internal, "an export row is not the one binary record the export asks for")
                }
                try record.withUnsafeReadableBytes { record in
                    try fields.read(record)
                    guard let id = fields.uuid(0, in: record), let micros = fields.int64(createdIndex, in: record) else {
                        throw RPCError(.internal, "an export row has no order id or creation time")
                    }
                    let first = (fields.int32(positionIndex, in: record) ?? 0) == 0
                    if first { page.orders += 1 }
                    let exponent = currency.exponent(fields.bytes(currencyIndex, in: record))
                    // The row is written straight into the chunk's memory, reserved once at its
                    // largest possible size (`CSVRow.bound`).
                    var bound = columns.count  // the separators and the line break
                    for index in 0..<columns.count where first || !perOrder[index] {
                        bound += CSVRow.bound(length: fields.length(index))
                    }
                    try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
                        var out = CSVRow(memory)
                        for index in 0..<columns.count {
                            if index > 0 { out.byte(UInt8(ascii: ",")) }
                            guard first || !perOrder[index], let value = fields.bytes(index, in: record) else { continue }
                            try out.cell(value, as: kinds[index], exponent: exponent)
                        }
                        out.byte(UInt8(ascii: "\n"))
                        return out.count
                    }
                    page.last = Cursor(micros: micros, id: id)
                }
                page.rows += 1
                if buffer.readableBytes >= Self.chunkBytes {
                    page.chunks.append(buffer)
                    buffer = ByteBufferAllocator().buffer(capacity: Self.chunkBytes + 8192)
                }
            }
            if buffer.readableBytes > 0 { page.chunks.append(buffer) }
            return page
        }
    }

    /// Exports running at once in this process: each holds a stream, two or three pages and their
    /// chunks, and up to two of the service's 10 database connections while it reads; more are
    /// refused (RESOURCE_EXHAUSTED), as the client can retry. Three leave at least four
    /// connections to everything else (checkouts, webhooks, jobs).
    static let running = ExportSlots(limit: 3)
}

/// Writes one CSV row's cells, from PostgreSQL's binary column values, into memory reserved for
/// the row: a byte at a time through a raw pointer, with no bounds or capacity check per byte (the
/// caller reserves `bound` for every cell first).
struct CSVRow {
    private let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(_ memory: UnsafeMutableRawBufferPointer) {
        self.base = memory.baseAddress!
    }

    /// The most bytes a cell written from a value of `length` bytes (-1: null) takes: text of n bytes at most 2n + 3 (every
    /// byte a doubled quote, the quotes, the formula guard); the fixed-size kinds at most 36 (a
    /// uuid), from 16 bytes or fewer.
    static func bound(length: Int) -> Int {
        2 * max(length, 0) + 40
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        self.base.storeBytes(of: value, toByteOffset: self.count, as: UInt8.self)
        self.count += 1
    }

    mutating func cell(_ value: UnsafeRawBufferPointer, as kind: OrderExport.Kind, exponent: Int) throws {
        switch kind {
        case .uuid, .optionalUUID:
            guard value.count == 16 else { throw RPCError(.internal, "a uuid column is not 16 bytes") }
            self.uuid(value)
        case .text:
            self.text(value)
        case .time:
            guard value.count == 8 else { throw RPCError(.internal, "a time column is not 8 bytes") }
            self.time(microsSince2000: Int64(bigEndian: value.loadUnaligned(as: Int64.self)))
        case .money:
            guard value.count == 8 else { throw RPCError(.internal, "a money column is not 8 bytes") }
            self.money(Int64(bigEndian: value.loadUnaligned(as: Int64.self)), exponent: exponent)
        case .int4:
            guard value.count == 4 else { throw RPCError(.internal, "an integer column is not 4 bytes") }
            let number = Int32(bigEndian: value.loadUnaligned(as: Int32.self))
            if number < 0 { self.byte(UInt8(ascii: "-")) }
            self.decimal(UInt64(number.magnitude))
        }
    }

    @inline(__always)
    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

    /// 16 bytes as 8-4-4-4-12 lowercase hex.
    mutating func uuid(_ bytes: UnsafeRawBufferPointer) {
        for index in 0..<16 {
            if index == 4 || index == 6 || index == 8 || index == 10 { self.byte(UInt8(ascii: "-")) }
            let byte = bytes[index]
            self.byte(Self.hex(byte >> 4))
            self.byte(Self.hex(byte & 0x0F))
        }
    }

    /// RFC 4180 quoting when the text needs it, and the formula guard: text a spreadsheet would
    /// run (it starts with = + - @, a tab or a carriage return) is quoted with a leading
    /// apostrophe.
    mutating func text(_ bytes: UnsafeRawBufferPointer) {
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
            (self.base + self.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            self.count += bytes.count
            return
        }
        self.byte(UInt8(ascii: "\""))
        if formula { self.byte(UInt8(ascii: "'")) }
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { self.byte(byte) }
            self.byte(byte)
        }
        self.byte(UInt8(ascii: "\""))
    }

    /// Minor units as major units with `exponent` decimals ("12.50"; "1250" when there are none).
    mutating func money(_ amount: Int64, exponent: Int) {
        if amount < 0 { self.byte(UInt8(ascii: "-")) }
        let magnitude = amount.magnitude
        guard exponent > 0 else {
            self.decimal(magnitude)
            return
        }
        var scale: UInt64 = 1
        for _ in 0..<exponent { scale *= 10 }
        self.decimal(magnitude / scale)
        self.byte(UInt8(ascii: "."))
        self.digits(magnitude % scale, width: exponent)
    }

    /// PostgreSQL's timestamptz (microseconds since 2000-01-01 UTC) as RFC 3339 UTC to the
    /// second.
    mutating func time(microsSince2000 micros: Int64) {
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
        if year < 0 { self.byte(UInt8(ascii: "-")) }
        self.digits(year.magnitude, width: 4)
        self.byte(UInt8(ascii: "-"))
        self.digits(UInt64(month), width: 2)
        self.byte(UInt8(ascii: "-"))
        self.digits(UInt64(day), width: 2)
        self.byte(UInt8(ascii: "T"))
        self.digits(UInt64(secondOfDay / 3600), width: 2)
        self.byte(UInt8(ascii: ":"))
        self.digits(UInt64(secondOfDay / 60 % 60), width: 2)
        self.byte(UInt8(ascii: ":"))
        self.digits(UInt64(secondOfDay % 60), width: 2)
        self.byte(UInt8(ascii: "Z"))
    }

    /// `value` in decimal.
    mutating func decimal(_ value: UInt64) {
        self.digits(value, width: 1)
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    mutating func digits(_ value: UInt64, width: Int) {
        var length = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        length = max(length, width)
        rest = value
        var offset = self.count + length - 1
        while offset >= self.count {
            self.base.storeBytes(of: UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10), toByteOffset: offset, as: UInt8.self)
            rest /= 10
            offset -= 1
        }
        self.count += length
    }
}

/// The fields of one record in PostgreSQL's binary format (`record_send`): a 4-byte count, then
/// for each field its type's OID (4 bytes), its length (4 bytes, -1 for null) and its bytes, all
/// integers big-endian. Holds where each field starts, read in place.
struct RecordFields {
    private var starts: [Int]
    private var lengths: [Int]

    init(count: Int) {
        self.starts = Array(repeating: 0, count: count)
        self.lengths = Array(repeating: -1, count: count)
    }

    /// Reads where each field of `record` is; throws when the record is not `count` fields that
    /// fit in it.
    mutating func read(_ record: UnsafeRawBufferPointer) throws {
        func malformed(_ what: String) -> RPCError { RPCError(.internal, "an export record \(what)") }
        guard record.count >= 4 else { throw malformed("has no field count") }
        guard Int(Int32(bigEndian: record.loadUnaligned(as: Int32.self))) == self.starts.count else {
            throw malformed("has not the \(self.starts.count) fields the export asks for")
        }
        var offset = 4
        for index in 0..<self.starts.count {
            guard offset + 8 <= record.count else { throw malformed("ends before field \(index)") }
            let length = Int(Int32(bigEndian: record.loadUnaligned(fromByteOffset: offset + 4, as: Int32.self)))
            offset += 8
            self.starts[index] = offset
            self.lengths[index] = length
            guard length >= 0 else { continue }
            guard offset + length <= record.count else { throw malformed("field \(index) runs past its end") }
            offset += length
        }
    }

    /// The field's length in bytes, -1 when it is null.
    func length(_ index: Int) -> Int { self.lengths[index] }

    /// The field's bytes, nil when it is null.
    func bytes(_ index: Int, in record: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let length = self.lengths[index]
        guard length >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: record[self.starts[index]..<self.starts[index] + length])
    }

    func int64(_ index: Int, in record: UnsafeRawBufferPointer) -> Int64? {
        guard self.lengths[index] == 8 else { return nil }
        return Int64(bigEndian: record.loadUnaligned(fromByteOffset: self.starts[index], as: Int64.self))
    }

    func int32(_ index: Int, in record: UnsafeRawBufferPointer) -> Int32? {
        guard self.lengths[index] == 4 else { return nil }
        return Int32(bigEndian: record.loadUnaligned(fromByteOffset: self.starts[index], as: Int32.self))
    }

    func uuid(_ index: Int, in record: UnsafeRawBufferPointer) -> UUID? {
        guard self.lengths[index] == 16 else { return nil }
        let start = self.starts[index]
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: record[start..<start + 16])) }
        return UUID(uuid: uuid)
    }
}

/// The ISO 4217 decimals of the rows' currency (2 when unknown or absent), looked up again only
/// when the code changes from one order to the next.
struct CurrencyExponent {
    private var code: [UInt8] = []
    private var value = 2

    mutating func exponent(_ code: UnsafeRawBufferPointer?) -> Int {
        guard let code else { return self.value }
        if !code.elementsEqual(self.code) {
            self.code = Array(code)
            self.value = ISO4217.exponent(of: String(decoding: code, as: UTF8.self)) ?? 2
        }
        return self.value
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
