import Foundation
import Logging
import PostgresNIO
import RPCKit
import Testing

@testable import OrderService

/// The CSV export through the edge: one row per line item with the order's fields on its first
/// row, cells quoted and formula-guarded, money in major units, filters, refusals as JSON before
/// any byte of CSV, the seller's own rows only, and a large export streamed in chunks.
@Suite("Order export")
struct OrderExportTests {
    /// RFC 4180 rows (quoted cells may hold commas, quotes and line breaks).
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        while let scalar = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { cell.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    cell.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" {
                quoted = true
            } else if scalar == "," {
                row.append(cell)
                cell = ""
            } else if scalar == "\n" {
                row.append(cell)
                rows.append(row)
                row = []
                cell = ""
            } else {
                cell.unicodeScalars.append(scalar)
            }
        }
        if !cell.isEmpty || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    /// The export's bytes read straight from OrderService's code, as the service's database role,
    /// in pages of `page` orders and ranges of `range`.
    static func exportBytes(_ system: PixEcomSystem, seller: UUID, filter: OrderExport.Filter, page: Int, range: Int) async throws
        -> [UInt8]
    {
        try await TestDatabases.withClient(system.databases["orders"]!.app) { client in
            var bytes: [UInt8] = []
            _ = try await OrderExport.stream(
                sellerID: seller, filter: filter, db: client, logger: Logger(label: "test"), pageOrders: page, rangeOrders: range
            ) { chunk in
                bytes += chunk.readableBytesView
            }
            return bytes
        }
    }

    /// One cell written by `CSVRow` from its binary value.
    static func cell(_ value: [UInt8], _ kind: OrderExport.Kind, exponent: Int = 2) throws -> String {
        var memory = [UInt8](repeating: 0, count: CSVRow.bound(length: value.count))
        let count = try memory.withUnsafeMutableBytes { out in
            var row = CSVRow(out)
            try value.withUnsafeBytes { try row.cell($0, as: kind, exponent: exponent) }
            return row.count
        }
        return String(decoding: memory.prefix(count), as: UTF8.self)
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    @Test("cells from binary values: money by exponent and sign, times, integers, uuids, quoting; malformed records refused")
    func cells() throws {
        #expect(try Self.cell(Self.bigEndian(Int64(1250)), .money) == "12.50")
        #expect(try Self.cell(Self.bigEndian(Int64(5)), .money) == "0.05")
        #expect(try Self.cell(Self.bigEndian(Int64(-1205)), .money) == "-12.05")
        #expect(try Self.cell(Self.bigEndian(Int64(1250)), .money, exponent: 0) == "1250")
        #expect(try Self.cell(Self.bigEndian(Int64(1250)), .money, exponent: 3) == "1.250")
        #expect(try Self.cell(Self.bigEndian(Int64.max), .money) == "92233720368547758.07")
        #expect(try Self.cell(Self.bigEndian(Int32(-7)), .int4) == "-7")
        #expect(try Self.cell(Self.bigEndian(Int32(0)), .int4) == "0")
        // PostgreSQL's epoch is 2000-01-01; 2026-03-01T12:34:56.789Z, then a time before it.
        #expect(try Self.cell(Self.bigEndian(Int64(825_683_696_789_000)), .time) == "2026-03-01T12:34:56Z")
        #expect(try Self.cell(Self.bigEndian(Int64(-1_000_000)), .time) == "1999-12-31T23:59:59Z")
        #expect(try Self.cell(Array(0..<16), .uuid) == "00010203-0405-0607-0809-0a0b0c0d0e0f")
        #expect(try Self.cell(Array("plain".utf8), .text) == "plain")
        #expect(try Self.cell(Array("a,\"b\"".utf8), .text) == "\"a,\"\"b\"\"\"")
        #expect(try Self.cell(Array("\r\"".utf8), .text) == "\"'\r\"\"\"")
        #expect(try Self.cell(Array("@sum".utf8), .text) == "\"'@sum\"")
        #expect(try Self.cell([], .text) == "")
        #expect(throws: RPCError.self) { try Self.cell([1, 2, 3], .money) }
        #expect(throws: RPCError.self) { try Self.cell([1, 2, 3], .uuid) }

        // A record: field count, then per field OID, length (-1: null), bytes.
        var fields = RecordFields(count: 2)
        let good: [UInt8] =
            Self.bigEndian(Int32(2)) + Self.bigEndian(Int32(25)) + Self.bigEndian(Int32(2)) + Array("hi".utf8)
            + Self.bigEndian(Int32(23)) + Self.bigEndian(Int32(-1))
        try good.withUnsafeBytes { record in
            try fields.read(record)
            #expect(fields.bytes(0, in: record).map { Array($0) } == Array("hi".utf8))
            #expect(fields.bytes(1, in: record) == nil && fields.length(1) == -1 && fields.int32(1, in: record) == nil)
        }
        let malformed: [[UInt8]] = [
            [], Self.bigEndian(Int32(3)), Array(good.dropLast(4)),
            Self.bigEndian(Int32(2)) + Self.bigEndian(Int32(25)) + Self.bigEndian(Int32(900)) + Array("hi".utf8),
        ]
        for record in malformed {
            #expect(throws: RPCError.self, "\(record)") { try record.withUnsafeBytes { try fields.read($0) } }
        }
    }

    @Test("rows per line item, order fields once, quoting and formula guard, money by currency, filters, errors, tenancy, streaming")
    func export() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let a = try await EndToEndTests.register(edge, name: "Exporter")
            let b = try await EndToEndTests.register(edge, name: "Other")
            let mixed = try await EndToEndTests.create(
                edge, "/v1/orders",
                [
                    "currency": "USD",
                    "lineItems": [
                        ["sku": "MUG-1", "title": "Mug, \"large\"", "quantity": 2, "unitPrice": "1205"],
                        ["sku": "TEE-1", "title": "=HYPERLINK(\"http://evil.example\")", "quantity": 1, "unitPrice": "99"],
                    ],
                    "utm": ["source": "facebook", "campaign": "-12", "content": "ad 7\nline"],
                ], token: a.token)
            let yen = try await EndToEndTests.create(
                edge, "/v1/orders",
                ["currency": "JPY", "lineItems": [["sku": "K", "title": "Kettle", "quantity": 1, "unitPrice": "4500"]]],
                token: a.token)
            #expect(try await edge.send(.POST, "/v1/orders/\(yen)/pay", json: [:], token: a.token).status == 200)

            let reply = try await edge.send(.GET, "/v1/orders.csv", token: a.token)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.headers["content-type"].first == "text/csv; charset=utf-8")
            #expect(reply.headers["transfer-encoding"].first == "chunked")
            #expect(reply.headers["content-disposition"].first?.contains("orders.csv") == true)
            let rows = Self.parseCSV(reply.text)
            let header = rows[0]
            #expect(header == OrderExport.columns.map(\.header))
            #expect(rows.count == 4, "\(reply.text)")
            func value(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }
            let first = rows[1]
            let second = rows[2]
            #expect(rows.dropFirst().allSatisfy { $0.count == header.count })
            #expect(value(first, "Id") == mixed && value(second, "Id") == mixed)
            #expect(value(first, "Currency") == "USD" && value(first, "Total") == "25.09" && value(first, "Subtotal") == "25.09")
            #expect(value(first, "Financial Status") == "PENDING" && value(first, "Fulfillment Status") == "UNFULFILLED")
            #expect(value(first, "Lineitem name") == "Mug, \"large\"" && value(first, "Lineitem price") == "12.05")
            #expect(value(first, "Lineitem quantity") == "2" && value(first, "Lineitem sku") == "MUG-1")
            #expect(value(first, "UTM Campaign") == "'-12", "a leading minus is guarded as a formula would be")
            #expect(value(first, "UTM Content") == "ad 7\nline")
            // The second line item: its own fields; the order's left blank.
            #expect(value(second, "Lineitem name") == "'=HYPERLINK(\"http://evil.example\")")
            #expect(value(second, "Lineitem price") == "0.99")
            #expect(value(second, "Total") == "" && value(second, "Currency") == "" && value(second, "UTM Source") == "")
            let yenRow = rows[3]
            #expect(value(yenRow, "Total") == "4500" && value(yenRow, "Financial Status") == "PAID")
            #expect(value(yenRow, "Paid at").hasSuffix("Z") && value(yenRow, "Created at").count == 20)

            // Filters.
            let paid = Self.parseCSV(try await edge.send(.GET, "/v1/orders.csv?financialStatus=PAID", token: a.token).text)
            #expect(paid.count == 2 && paid[1][0] == yen)
            let future = try await edge.send(.GET, "/v1/orders.csv?createdAfter=2999-01-01T00:00:00Z", token: a.token)
            #expect(Self.parseCSV(future.text).count == 1, "the header alone")
            // Refusals come as JSON errors, before any CSV.
            let badStatus = try await edge.send(.GET, "/v1/orders.csv?financialStatus=RICH", token: a.token)
            #expect(badStatus.status == 400 && PaymentTests.field(badStatus) == "financialStatus", "\(badStatus.text)")
            let empty = try await edge.send(.GET, "/v1/orders.csv?sellPageId=", token: a.token)
            #expect(empty.status == 400 && PaymentTests.field(empty) == "sellPageId", "\(empty.text)")
            let badTime = try await edge.send(.GET, "/v1/orders.csv?createdBefore=yesterday", token: a.token)
            #expect(badTime.status == 400 && PaymentTests.field(badTime) == "created_before", "\(badTime.text)")
            #expect(badTime.headers["content-type"].first?.hasPrefix("application/json") == true)
            #expect(!badTime.headers["x-request-id"].isEmpty)
            let anonymous = try await edge.send(.GET, "/v1/orders.csv")
            #expect(anonymous.status == 401, "\(anonymous.text)")
            // Another seller sees the header only.
            let other = try await edge.send(.GET, "/v1/orders.csv", token: b.token)
            #expect(other.status == 200 && Self.parseCSV(other.text).count == 1 && !other.text.contains(mixed), "\(other.text)")

            // Many orders: streamed in many chunks, every row there once, in order.
            let count = 12_000
            try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                let seller = UUID(uuidString: a.sellerID)!
                _ = try await client.query(
                    """
                    INSERT INTO orders (seller_id, id, currency, total, subtotal, financial_status, fulfillment_status, created_at)
                    SELECT \(seller), gen_random_uuid(), 'EUR', 300, 300, 'PENDING', 'UNFULFILLED',
                           timestamptz '2020-01-01' + n * interval '1 second'
                    FROM generate_series(1, \(count)) AS n
                    """)
                _ = try await client.query(
                    """
                    INSERT INTO order_line_items (seller_id, order_id, position, sku, title, quantity, unit_price)
                    SELECT o.seller_id, o.id, p, 'SKU-' || p, 'Item ' || p, 1, 100 + 100 * p
                    FROM orders o CROSS JOIN generate_series(0, 1) AS p
                    WHERE o.seller_id = \(seller) AND o.currency = 'EUR'
                    """)
            }
            // A generous deadline: under the whole suite's load on two cores this download has taken
            // more than 30 s.
            let large = try await edge.send(
                .GET, "/v1/orders.csv?createdBefore=2021-01-01T00:00:00Z", token: a.token, timeout: .seconds(180))
            // Required: the lines below are read by index.
            try #require(large.status == 200, "\(large.text.prefix(500))")
            #expect(large.body.count > 4 * OrderExport.chunkBytes, "\(large.body.count) bytes")
            let lines = large.text.split(separator: "\n", omittingEmptySubsequences: false)
            try #require(lines.count == 1 + 2 * count + 1, "header, two rows per order, and the final newline's empty remainder")
            let ids = lines.dropFirst().dropLast().map { $0.prefix(36) }
            #expect(Set(ids).count == count)
            #expect(lines[1].hasSuffix(",1,Item 0,1.00,SKU-0,0,0" + String(repeating: ",", count: 14)), "\(lines[1])")
            #expect(lines.dropFirst(2).first?.hasPrefix(String(lines[1].prefix(36)) + String(repeating: ",", count: 15)) == true)

            // Ranges and pages of any size give the same bytes: ranges read two at a time, a range
            // read as several pages (pages smaller than ranges, as when orders are written into a
            // range after its end was found), a range of one order, and the last range short.
            let seller = UUID(uuidString: a.sellerID)!
            var filter = OrderExport.Filter()
            filter.createdBefore = Date(timeIntervalSince1970: 1_577_836_800 + 600)  // 2020-01-01T00:10:00Z: 599 orders
            let reference = try await Self.exportBytes(system, seller: seller, filter: filter, page: 10_000, range: 10_000)
            #expect(reference.count > 599 * 2 * 20, "\(reference.count) bytes")
            #expect(Self.parseCSV(String(decoding: reference, as: UTF8.self)).count == 1 + 599 * 2)
            for (page, range) in [(3, 7), (4, 4), (50, 1), (600, 100), (2, 599)] {
                let bytes = try await Self.exportBytes(system, seller: seller, filter: filter, page: page, range: range)
                #expect(
                    bytes == reference, "pages of \(page) orders in ranges of \(range): \(bytes.count) bytes, \(reference.count) expected")
            }

            // HTTP/1.0 knows no chunks: the bytes as they are, ended by the end of the connection.
            let raw = try await RawTLSConnection.connect(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
            try await raw.send(
                "GET /v1/orders.csv?financialStatus=PAID HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer \(a.token)\r\n\r\n")
            #expect(await raw.closedByServer(within: .seconds(20)))
            let answer = raw.received
            await raw.close()
            let parts = answer.components(separatedBy: "\r\n\r\n")
            #expect(parts[0].hasPrefix("HTTP/1.1 200") && !parts[0].lowercased().contains("transfer-encoding"), "\(parts[0])")
            let rawRows = Self.parseCSV(parts.dropFirst().joined(separator: "\r\n\r\n"))
            #expect(rawRows.count == 2 && rawRows.first == OrderExport.columns.map(\.header) && rawRows.last?.first == yen, "\(answer)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
