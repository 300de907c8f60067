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
/// its first row only, its id on every row), streamed in chunks as PostgreSQL returns the rows.
///
/// PostgreSQL writes each line (`csv_cell`, `csv_money` of migration 0010): the service only
/// passes the bytes on. Orders are read a page at a time in a short transaction each (keyset on
/// (created_at, id)), so memory is one page and one chunk however many orders there are, and a
/// slow client holds no database connection: the RPC stream waits for the client's credit
/// between pages.
///
/// Cells: text as given, quoted when it holds a comma, a quote or a line break; text a
/// spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return) gets
/// a leading apostrophe (OWASP's CSV injection advice), which the import takes off again. Money
/// in the currency's major units with its ISO 4217 decimals ("12.50", "1250" for JPY); times in
/// RFC 3339 UTC.
enum OrderExport {
    struct Column {
        var header: String
        var sql: String
        /// An order field: on the order's first row only.
        var perOrder: Bool
    }

    static let columns: [Column] = [
        Column(header: "Id", sql: "o.id::text", perOrder: false),
        Column(header: "Email", sql: "csv_cell(o.customer_email)", perOrder: true),
        Column(header: "Financial Status", sql: "o.financial_status", perOrder: true),
        Column(header: "Paid at", sql: "coalesce(\(Self.time("o.paid_at")), '')", perOrder: true),
        Column(header: "Fulfillment Status", sql: "o.fulfillment_status", perOrder: true),
        Column(header: "Order Status", sql: "o.order_status", perOrder: true),
        Column(header: "Currency", sql: "o.currency", perOrder: true),
        Column(header: "Subtotal", sql: "csv_money(o.subtotal, e.exponent)", perOrder: true),
        Column(header: "Shipping", sql: "csv_money(o.shipping, e.exponent)", perOrder: true),
        Column(header: "Taxes", sql: "csv_money(o.tax, e.exponent)", perOrder: true),
        Column(header: "Total", sql: "csv_money(o.total, e.exponent)", perOrder: true),
        Column(header: "Discount Amount", sql: "csv_money(o.discount, e.exponent)", perOrder: true),
        Column(header: "Refunded Amount", sql: "csv_money(o.refunded, e.exponent)", perOrder: true),
        Column(header: "Created at", sql: Self.time("o.created_at"), perOrder: true),
        Column(header: "Cancel Reason", sql: "o.cancel_reason", perOrder: true),
        Column(header: "Lineitem quantity", sql: "coalesce(li.quantity::text, '')", perOrder: false),
        Column(header: "Lineitem name", sql: "coalesce(csv_cell(li.title), '')", perOrder: false),
        Column(header: "Lineitem price", sql: "coalesce(csv_money(li.unit_price, e.exponent), '')", perOrder: false),
        Column(header: "Lineitem sku", sql: "coalesce(csv_cell(li.sku), '')", perOrder: false),
        Column(header: "Lineitem fulfilled quantity", sql: "coalesce(li.fulfilled_quantity::text, '')", perOrder: false),
        Column(header: "Lineitem returned quantity", sql: "coalesce(li.returned_quantity::text, '')", perOrder: false),
        Column(header: "Shipping Name", sql: "csv_cell(o.ship_name)", perOrder: true),
        Column(header: "Shipping Address1", sql: "csv_cell(o.ship_line1)", perOrder: true),
        Column(header: "Shipping Address2", sql: "csv_cell(o.ship_line2)", perOrder: true),
        Column(header: "Shipping City", sql: "csv_cell(o.ship_city)", perOrder: true),
        Column(header: "Shipping Province", sql: "csv_cell(o.ship_region)", perOrder: true),
        Column(header: "Shipping Zip", sql: "csv_cell(o.ship_postal_code)", perOrder: true),
        Column(header: "Shipping Country", sql: "o.ship_country", perOrder: true),
        Column(header: "Phone", sql: "csv_cell(o.customer_phone)", perOrder: true),
        Column(header: "Sell Page Id", sql: "coalesce(o.sell_page_id::text, '')", perOrder: true),
        Column(header: "UTM Source", sql: "csv_cell(o.utm_source)", perOrder: true),
        Column(header: "UTM Medium", sql: "csv_cell(o.utm_medium)", perOrder: true),
        Column(header: "UTM Campaign", sql: "csv_cell(o.utm_campaign)", perOrder: true),
        Column(header: "UTM Content", sql: "csv_cell(o.utm_content)", perOrder: true),
        Column(header: "UTM Term", sql: "csv_cell(o.utm_term)", perOrder: true),
    ]

    static func time(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    }

    static let header = Self.columns.map(\.header).joined(separator: ",") + "\n"

    /// One SQL expression for the whole line: runs of order fields are one CASE each, blank
    /// (their commas only) on the order's later rows.
    static let lineExpression: String = {
        var parts: [String] = []
        var index = 0
        while index < Self.columns.count {
            let perOrder = Self.columns[index].perOrder
            var run: [String] = []
            while index < Self.columns.count, Self.columns[index].perOrder == perOrder {
                run.append(Self.columns[index].sql)
                index += 1
            }
            let joined = run.joined(separator: " || ',' || ")
            parts.append(
                perOrder
                    ? "CASE WHEN coalesce(li.position, 0) = 0 THEN \(joined) ELSE '\(String(repeating: ",", count: run.count - 1))' END"
                    : joined)
        }
        return parts.joined(separator: " || ',' || ")
    }()

    /// The ISO 4217 decimals of `o.currency` (the currencies without two, from `ISO4217`).
    static let exponentExpression: String = {
        let others = ISO4217.minorUnits.filter { $0.value != 2 }.sorted { $0.key < $1.key }
        return "CASE o.currency " + others.map { "WHEN '\($0.key)' THEN \($0.value) " }.joined() + "ELSE 2 END"
    }()

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

    /// Orders per page: each page is one short read (its own transaction, closed before the rows are sent),
    /// so a slow download holds no database connection between pages.
    static let pageOrders = 5000

    /// One page of the export's rows after `cursor` (the last order's creation time in
    /// microseconds and id): each row one CSV line without its line break, with its order's
    /// cursor.
    static func page(sellerID: UUID, filter: Filter, after cursor: (micros: Int64, id: UUID)?, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: Self.lineExpression), (extract(epoch FROM o.created_at) * 1000000)::int8, o.id
        FROM (
            SELECT * FROM orders
            WHERE seller_id = \(sellerID)
              AND (\(cursor?.micros)::int8 IS NULL
                   OR (created_at, id) > (to_timestamp(\(cursor?.micros)::int8 / 1000000.0), \(cursor?.id)::uuid))
              AND (\(filter.createdAfter)::timestamptz IS NULL OR created_at >= \(filter.createdAfter))
              AND (\(filter.createdBefore)::timestamptz IS NULL OR created_at < \(filter.createdBefore))
              AND (\(filter.financialStatus?.rawValue)::text IS NULL OR financial_status = \(filter.financialStatus?.rawValue))
              AND (\(filter.fulfillmentStatus?.rawValue)::text IS NULL OR fulfillment_status = \(filter.fulfillmentStatus?.rawValue))
              AND (\(filter.orderStatus?.rawValue)::text IS NULL OR order_status = \(filter.orderStatus?.rawValue))
              AND (\(filter.sellPageID)::uuid IS NULL OR sell_page_id = \(filter.sellPageID))
            ORDER BY created_at, id
            LIMIT \(limit)
        ) o
        CROSS JOIN LATERAL (SELECT \(unescaped: Self.exponentExpression) AS exponent) e
        LEFT JOIN order_line_items li ON li.seller_id = o.seller_id AND li.order_id = o.id
        ORDER BY o.created_at, o.id, li.position
        """
    }

    /// The bytes of one chunk: large enough that framing costs nothing, small enough that memory
    /// does not notice.
    static let chunkBytes = 64 * 1024

    /// Streams the export to `send`, a chunk at a time, reading a page of orders at a time (the
    /// keyset (created_at, id): every order once, in order, however long the download takes);
    /// returns the rows written (header aside). Memory: one page's rows and one chunk.
    static func stream(
        sellerID: UUID, filter: Filter, db: PostgresClient, logger: Logger, send: (ByteBuffer) async throws -> Void
    ) async throws -> Int {
        var chunk = ByteBufferAllocator().buffer(capacity: Self.chunkBytes + 4096)
        chunk.writeString(Self.header)
        var count = 0
        var cursor: (micros: Int64, id: UUID)?
        while true {
            // A short transaction per page (the rows collected, then the connection returned).
            let after = cursor
            let rows = try await db.withSeller(sellerID, logger: logger) { connection in
                let result = try await connection.query(
                    Self.page(sellerID: sellerID, filter: filter, after: after, limit: Self.pageOrders), logger: logger)
                var rows: [(ByteBuffer, Int64, UUID)] = []
                for try await row in result {
                    var cells = row.makeIterator()
                    guard let line = cells.next()?.bytes, let micros = try cells.next()?.decode(Int64.self),
                        let id = try cells.next()?.decode(UUID.self)
                    else { throw RPCError(.internal, "an export row was NULL") }
                    rows.append((line, micros, id))
                }
                return rows
            }
            var orders = Set<UUID>()
            for (line, micros, id) in rows {
                var line = line
                chunk.writeBuffer(&line)
                chunk.writeInteger(UInt8(ascii: "\n"))
                count += 1
                orders.insert(id)
                cursor = (micros, id)
                if chunk.readableBytes >= Self.chunkBytes {
                    try await send(chunk)
                    chunk.clear()
                }
            }
            if orders.count < Self.pageOrders { break }
        }
        if chunk.readableBytes > 0 { try await send(chunk) }
        return count
    }

    /// Exports running at once in this process: each holds a stream, a page of rows and a chunk;
    /// more wait for none of them but are refused (RESOURCE_EXHAUSTED), as the client can retry.
    static let running = ExportSlots(limit: 4)
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
