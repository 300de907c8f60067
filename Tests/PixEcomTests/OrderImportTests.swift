import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OrderService

/// CSV imports: the streaming reader, the row checks, and imports through the edge: a dry run
/// that applies nothing and reports every bad row by its line, a real run that applies the rest
/// once, a second run that changes nothing, chunked uploads, fulfillment updates, failures of a
/// whole file, and tenancy.
@Suite("Order import")
struct OrderImportTests {
    // MARK: - The reader

    static func read(_ text: String, chunk: Int) throws -> [CSVReader.Row] {
        var reader = CSVReader()
        var rows: [CSVReader.Row] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            try reader.feed(bytes[start..<min(start + chunk, bytes.count)], into: &rows)
            start += chunk
        }
        try reader.finish(into: &rows)
        return rows
    }

    @Test("rows, quoted commas, quotes and line breaks, CRLF, a BOM, blank lines: the same however the chunks cut them")
    func reader() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, \"\"y\"\"\nz\",3\r\n\n\"\",,\n4,5,6"
        let whole = try Self.read(text, chunk: 1 << 20)
        #expect(whole.map(\.fields) == [["a", "b", "c"], ["1", "x, \"y\"\nz", "3"], ["", "", ""], ["4", "5", "6"]])
        #expect(whole.map(\.line) == [1, 2, 5, 6], "a quoted line break makes a row span two lines; the blank line 4 is skipped")
        #expect(whole.allSatisfy { $0.problem == nil })
        #expect(whole[0].start == 3, "the byte order mark is not part of the first row")
        #expect(whole.last?.end == Int64(text.utf8.count))
        for chunk in [1, 2, 3, 5, 7] { #expect(try Self.read(text, chunk: chunk) == whole, "chunks of \(chunk) bytes") }
        // A file that starts with two bytes of the mark's three: data.
        #expect(try Self.read("\u{EF}", chunk: 1).count == 1)
    }

    @Test("a broken row is reported with its line and column, and reading goes on")
    func brokenRows() throws {
        let rows = try Self.read("a,b\nx,ab\"c\n\"q\"z,1\nok,2\n\"open,3", chunk: 4)
        #expect(rows.count == 5)
        #expect(rows[1].problem?.column == 1 && rows[1].line == 2, "a quote inside an unquoted field")
        #expect(rows[2].problem?.message == "has text after its closing quote" && rows[2].problem?.column == 0)
        #expect(rows[3].problem == nil && rows[3].fields == ["ok", "2"])
        #expect(rows[4].problem?.message.contains("not closed") == true && rows[4].line == 5)
        var invalid = Array("a,b\n".utf8) + [0x31, 0x2C, 0xFF, 0x0A]
        invalid += Array("2,3\n".utf8)
        var reader = CSVReader()
        var out: [CSVReader.Row] = []
        try reader.feed(invalid, into: &out)
        try reader.finish(into: &out)
        #expect(out[1].problem?.column == 1 && out[1].problem?.message == "is not UTF-8 text" && out[2].problem == nil)
        var small = CSVReader(maxRowBytes: 8)
        #expect(throws: CSVReader.Failure.rowTooLong(line: 1, limit: 8)) { try small.feed(Array("aaaaaaaaaaaa".utf8), into: &out) }
    }

    // MARK: - Files

    static let orderColumns = [
        "Name", "Email", "Financial Status", "Paid at", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Amount",
        "Refunded Amount", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku", "Shipping Country",
        "UTM Campaign",
    ]

    static func cell(_ value: String) -> String {
        value.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    /// A file of orders: `count` data rows, every tenth order with a second line item, 1% bad rows
    /// (each the only row of its order), one name with a comma, a quote and a line break, and one
    /// cell with the export's formula guard. Returns the file, the bad rows' lines, and the good
    /// orders (name, total in minor units, financial status, rows).
    struct OrdersFile {
        var text: String
        var badLines: [Int]
        var goodOrders: [(name: String, total: Int64, status: String, rows: Int)]
        var rows: Int
        var goodRows: Int { self.goodOrders.reduce(0) { $0 + $1.rows } }
    }

    static func ordersFile(rows count: Int, prefix: String) -> OrdersFile {
        var lines = [Self.orderColumns.joined(separator: ",")]
        var physical = 1
        var bad: [Int] = []
        var good: [(String, Int64, String, Int)] = []
        var written = 0
        var order = 0
        // Three in eight paid: each paid order and each refund is a stats event to deliver.
        let statuses = ["PENDING", "paid", "PENDING", "PENDING", "REFUNDED", "PENDING", "PARTIALLY_REFUNDED", "PENDING"]
        // Order n was created n seconds after the base.
        let created = ISO8601DateFormatter()
        let base = Date(timeIntervalSince1970: 1_772_359_200)  // 2026-03-01T10:00:00Z
        while written < count {
            order += 1
            let name = "\(prefix)-\(order)"
            let status = statuses[order % statuses.count]
            // Exactly one row in a hundred is bad, each the only row of its order.
            let isBad = (written + 1) % 100 == 50
            let twoRows = order % 10 == 3 && written + 2 <= count && !isBad
            let badKind = (written / 100) % 9
            // A name across two lines is bad (no line breaks in a name), and shifts the lines after it.
            let multiline = isBad && badKind == 8
            var title = "Item \(order)"
            if order == 7 { title = "Mug, \"large\", blue" }
            if multiline { title = "two\nlines" }
            if order == 8 { title = "'=SUM(A1)" }
            let price: Int64 = 1000 + Int64(order % 50) * 10
            let quantity: Int64 = 1 + Int64(order % 3)
            var subtotal = price * quantity
            if twoRows { subtotal += 500 }
            let shipping: Int64 = 300
            let total = subtotal + shipping
            func money(_ minor: Int64) -> String { "\(minor / 100).\(String(format: "%02d", minor % 100))" }
            var fields = [
                name, "buyer\(order)@example.com", status, "", "EUR", money(subtotal), money(shipping), "0.00", money(total), "",
                status == "PARTIALLY_REFUNDED" ? "1.00" : "", created.string(from: base.addingTimeInterval(Double(order))), "\(quantity)",
                title, money(price), "SKU-\(order)", "de",
                "c-\(order % 5)",
            ]
            if isBad && !multiline {
                switch badKind {
                case 0: fields[12] = "zero"
                case 1: fields[14] = "12.345"
                case 2: fields[4] = "EURO"
                case 3: fields[8] = money(total + 1)
                case 4: fields[1] = "not-an-email"
                case 5: fields[2] = "SHIPPED"
                case 6: fields[11] = "yesterday"
                default: fields[13] = "ab\"c"
                }
            }
            let line = fields.map { Self.cell($0) }.joined(separator: ",")
            // A bad quote must stay as written (not quoted by `cell`).
            let written1 = isBad && badKind == 7 ? line.replacingOccurrences(of: "\"ab\"\"c\"", with: "ab\"c") : line
            lines.append(written1)
            physical += 1
            if isBad { bad.append(physical) }
            physical += title.filter { $0 == "\n" }.count
            written += 1
            if twoRows {
                var second = [String](repeating: "", count: Self.orderColumns.count)
                second[0] = name
                second[12] = "1"
                second[13] = "Gift wrap"
                second[14] = "5.00"
                second[15] = "WRAP"
                lines.append(second.joined(separator: ","))
                physical += 1
                written += 1
            }
            if !isBad { good.append((name, total, status.uppercased(), twoRows ? 2 : 1)) }
        }
        return OrdersFile(text: lines.joined(separator: "\r\n") + "\r\n", badLines: bad, goodOrders: good, rows: written)
    }

    /// Polls the import until it has ended.
    static func wait(_ edge: EdgeHTTPClient, _ id: String, token: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let reply = try await edge.send(.GET, "/v1/order-imports/\(id)", token: token)
            try #require(reply.status == 200, "\(reply.text)")
            let status = JSONValues.string(reply.json["status"])
            if status == "SUCCEEDED" || status == "FAILED" { return reply.json }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestSetupError("import \(id) did not end within 300 s")
    }

    static func upload(
        _ edge: EdgeHTTPClient, _ text: String, kind: String, dryRun: Bool = false, token: String
    ) async throws -> [String: Any] {
        let reply = try await edge.sendRaw(
            .POST, "/v1/order-imports.csv?kind=\(kind)&name=file.csv&dryRun=\(dryRun)", body: Data(text.utf8),
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "text/csv"), ("Idempotency-Key", UUID().uuidString)],
            timeout: .seconds(120))
        try #require(reply.status == 200, "\(reply.text)")
        #expect(JSONValues.string(reply.json["status"]) == "QUEUED")
        return try await Self.wait(edge, JSONValues.string(reply.json["importId"]), token: token)
    }

    /// Every error of the import, a small page at a time.
    static func errors(_ edge: EdgeHTTPClient, _ id: String, token: String) async throws -> [(line: Int, field: String, message: String)] {
        var all: [(Int, String, String)] = []
        var token_ = ""
        repeat {
            let reply = try await edge.send(.GET, "/v1/order-imports/\(id)/errors?pageSize=7&pageToken=\(token_)", token: token)
            try #require(reply.status == 200, "\(reply.text)")
            for error in reply.json["errors"] as? [[String: Any]] ?? [] {
                all.append((Int(JSONValues.int64(error["line"])), JSONValues.string(error["field"]), JSONValues.string(error["message"])))
            }
            token_ = JSONValues.string(reply.json["nextPageToken"])
        } while !token_.isEmpty
        return all
    }

    /// Waits until OrderService's outbox has delivered every event to StatsService, so that the
    /// system stops with no delivery in flight (a large import leaves hundreds queued).
    static func drainOutbox(_ system: PixEcomSystem) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            if try await Self.count(system, "SELECT count(*)::int8 FROM outbox WHERE delivered_at IS NULL") == 0 { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw TestSetupError("the outbox was not delivered within 300 s")
    }

    static func count(_ system: PixEcomSystem, _ sql: String) async throws -> Int {
        try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql))
            for try await count in rows.decode(Int.self) { return count }
            return -1
        }
    }

    @Test("orders: a dry run reports exactly the bad rows and applies nothing; a run applies the rest once; a second run changes nothing")
    func orders() async throws {
        let rows = Int(ProcessInfo.processInfo.environment["PIXECOM_IMPORT_TEST_ROWS"] ?? "") ?? 1000
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let a = try await EndToEndTests.register(edge, name: "Importer")
            let b = try await EndToEndTests.register(edge, name: "Other")
            let file = Self.ordersFile(rows: rows, prefix: "IMP")
            let seller = "seller_id = '\(a.sellerID.lowercased())'"

            // Dry run: every row checked, nothing written.
            let dry = try await Self.upload(edge, file.text, kind: "ORDERS", dryRun: true, token: a.token)
            #expect(JSONValues.string(dry["status"]) == "SUCCEEDED", "\(dry)")
            #expect(dry["dryRun"] as? Bool == true)
            #expect(JSONValues.int64(dry["rows"]) == Int64(file.rows))
            #expect(JSONValues.int64(dry["errorRows"]) == Int64(file.badLines.count))
            #expect(JSONValues.int64(dry["appliedRows"]) == Int64(file.goodRows))
            #expect(JSONValues.int64(dry["created"]) == Int64(file.goodOrders.count))
            #expect(JSONValues.int64(dry["processedBytes"]) == Int64(file.text.utf8.count))
            let dryErrors = try await Self.errors(edge, JSONValues.string(dry["importId"]), token: a.token)
            #expect(dryErrors.map(\.line) == file.badLines)
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM orders WHERE \(seller)") == 0)
            // Each kind of bad row, named by its column.
            let fields = Set(dryErrors.map(\.field))
            #expect(
                fields.isSubset(of: [
                    "Lineitem quantity", "Lineitem price", "Currency", "Total", "Email", "Financial Status", "Created at", "Lineitem name",
                ]),
                "\(fields)")
            if rows >= 800 { #expect(fields.count == 8, "\(dryErrors.prefix(10))") }
            #expect(dryErrors.first { $0.field == "Lineitem price" }?.message.contains("decimals") ?? true)
            #expect(file.badLines.count == rows / 100, "1% of the rows are bad")
            if rows >= 900 { #expect(dryErrors.contains { $0.message.contains("line break") }, "\(dryErrors)") }

            // The run: the good rows applied, the same errors.
            let run = try await Self.upload(edge, file.text, kind: "ORDERS", token: a.token)
            #expect(JSONValues.string(run["status"]) == "SUCCEEDED", "\(run)")
            #expect(JSONValues.int64(run["appliedRows"]) == Int64(file.goodRows))
            #expect(JSONValues.int64(run["created"]) == Int64(file.goodOrders.count))
            #expect(JSONValues.int64(run["unchangedRows"]) == 0)
            #expect(try await Self.errors(edge, JSONValues.string(run["importId"]), token: a.token).map(\.line) == file.badLines)
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM orders WHERE \(seller)") == file.goodOrders.count)
            let events = try await Self.count(system, "SELECT count(*)::int8 FROM order_events WHERE \(seller)")
            let paid = file.goodOrders.filter { $0.status != "PENDING" }
            let refunds = file.goodOrders.filter { $0.status.contains("REFUNDED") }
            #expect(events == file.goodOrders.count + paid.count + refunds.count, "created, captured and refunded entries")
            #expect(
                try await Self.count(system, "SELECT count(*)::int8 FROM order_line_items WHERE \(seller)") == file.goodRows)
            // The orders as the API shows them: totals, statuses, the multi-line and quoted ones.
            for probe in [file.goodOrders[0], file.goodOrders[2], file.goodOrders[3], file.goodOrders[4], file.goodOrders[6]] {
                let id = try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                    let found = try await client.query("SELECT id FROM orders WHERE import_reference = \(probe.name)")
                    for try await id in found.decode(UUID.self) { return id.uuidString.lowercased() }
                    return ""
                }
                let order = try await edge.send(.GET, "/v1/orders/\(id)", token: a.token)
                #expect(order.status == 200 && JSONValues.int64(order.json["total"]) == probe.total, "\(probe) \(order.text)")
                #expect(JSONValues.string(order.json["financialStatus"]) == probe.status, "\(probe) \(order.text)")
                #expect((order.json["lineItems"] as? [[String: Any]])?.count == probe.rows)
            }
            // The file's first orders, exported (a filter keeps a 100,000-row run's download small).
            let export = try await edge.send(.GET, "/v1/orders.csv?createdBefore=2026-03-01T10:00:20Z", token: a.token)
            #expect(export.text.contains(",\"Mug, \"\"large\"\", blue\","), "the quoted name came through whole")
            #expect(
                try await Self.count(system, "SELECT count(*)::int8 FROM order_line_items WHERE \(seller) AND title = '=SUM(A1)'") == 1,
                "the export's formula guard is taken off")
            #expect(export.text.contains(",\"'=SUM(A1)\","), "and put back on export")

            // Again, through a chunked upload: nothing changes.
            let bytes = Data(file.text.utf8)
            let started = try await edge.send(
                .POST, "/v1/order-imports", json: ["kind": "ORDERS", "name": "again.csv", "sizeBytes": "\(bytes.count)"], token: a.token,
                headers: [("Idempotency-Key", UUID().uuidString)])
            try #require(started.status == 200, "\(started.text)")
            let id = JSONValues.string(started.json["importId"])
            let half = bytes.count / 2
            let auth = [("Authorization", "Bearer \(a.token)")]
            let first = try await edge.sendRaw(.PUT, "/v1/order-imports/\(id)?offset=0", body: bytes.prefix(half), headers: auth)
            #expect(first.status == 200 && JSONValues.int64(first.json["receivedBytes"]) == Int64(half), "\(first.text)")
            let retried = try await edge.sendRaw(.PUT, "/v1/order-imports/\(id)?offset=0", body: bytes.prefix(half), headers: auth)
            #expect(retried.status == 200, "a chunk sent again at its offset is a retry: \(retried.text)")
            let gap = try await edge.sendRaw(
                .PUT, "/v1/order-imports/\(id)?offset=\(half + 1)", body: bytes.suffix(from: half + 1), headers: auth)
            #expect(gap.status == 400 && PaymentTests.field(gap) == "offset", "\(gap.text)")
            let early = try await edge.send(.POST, "/v1/order-imports/\(id)/finish", json: [:], token: a.token)
            #expect(early.status == 422, "finish before every byte came: \(early.text)")
            let rest = try await edge.sendRaw(.PUT, "/v1/order-imports/\(id)?offset=\(half)", body: bytes.suffix(from: half), headers: auth)
            #expect(rest.status == 200, "\(rest.text)")
            let finished = try await edge.send(.POST, "/v1/order-imports/\(id)/finish", json: [:], token: a.token)
            #expect(finished.status == 200, "\(finished.text)")
            let again = try await Self.wait(edge, id, token: a.token)
            #expect(JSONValues.string(again["status"]) == "SUCCEEDED", "\(again)")
            #expect(JSONValues.int64(again["appliedRows"]) == 0 && JSONValues.int64(again["created"]) == 0)
            #expect(JSONValues.int64(again["unchangedRows"]) == Int64(file.goodRows))
            #expect(JSONValues.int64(again["errorRows"]) == Int64(file.badLines.count))
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM orders WHERE \(seller)") == file.goodOrders.count)
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM order_events WHERE \(seller)") == events)
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM order_import_chunks") == 0, "chunks are dropped at the end")

            // Another seller sees none of it.
            let foreign = try await edge.send(.GET, "/v1/order-imports/\(id)", token: b.token)
            #expect(foreign.status == 404, "\(foreign.text)")
            let foreignErrors = try await edge.send(.GET, "/v1/order-imports/\(id)/errors", token: b.token)
            #expect(foreignErrors.status == 404, "\(foreignErrors.text)")
            let foreignAppend = try await edge.sendRaw(
                .PUT, "/v1/order-imports/\(id)?offset=0", body: Data("x".utf8), headers: [("Authorization", "Bearer \(b.token)")])
            #expect(foreignAppend.status == 404, "\(foreignAppend.text)")
            // The same names for another seller are that seller's own orders.
            let theirs = try await Self.upload(edge, Self.ordersFile(rows: 30, prefix: "IMP").text, kind: "ORDERS", token: b.token)
            #expect(JSONValues.int64(theirs["unchangedRows"]) == 0 && JSONValues.int64(theirs["created"]) > 0, "\(theirs)")
            try await Self.drainOutbox(system)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("a job stopped part-way resumes at the offset its last batch recorded: the rows before it are not read again")
    func resume() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let a = try await EndToEndTests.register(edge, name: "Resumer")
            let file = Self.ordersFile(rows: 200, prefix: "RES")
            // The first order that starts at data row 101 or later, and the byte its row starts at.
            let lines = file.text.components(separatedBy: "\r\n").dropLast()
            var offset = lines[0].utf8.count + 2
            var row = 1
            var previous = ""
            var boundary: (offset: Int, row: Int)?
            for line in lines.dropFirst() {
                let name = String(line.prefix { $0 != "," })
                if row > 100 && name != previous {
                    boundary = (offset, row)
                    break
                }
                previous = name
                offset += line.utf8.count + 2
                row += 1
            }
            let (start, firstRow) = try #require(boundary)
            let bytes = Data(file.text.utf8)
            let started = try await edge.send(
                .POST, "/v1/order-imports", json: ["kind": "ORDERS", "name": "resume.csv", "sizeBytes": "\(bytes.count)"], token: a.token,
                headers: [("Idempotency-Key", UUID().uuidString)])
            try #require(started.status == 200, "\(started.text)")
            let id = JSONValues.string(started.json["importId"])
            let put = try await edge.sendRaw(
                .PUT, "/v1/order-imports/\(id)?offset=0", body: bytes, headers: [("Authorization", "Bearer \(a.token)")])
            try #require(put.status == 200, "\(put.text)")
            // As an earlier attempt would have left it after committing the rows before `start`.
            let importUUID = try #require(UUID(uuidString: id))
            try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                _ = try await client.query(
                    "UPDATE order_imports SET processed_bytes = \(Int64(start)), rows = \(Int32(firstRow - 1)) WHERE id = \(importUUID)"
                )
            }
            let finished = try await edge.send(.POST, "/v1/order-imports/\(id)/finish", json: [:], token: a.token)
            try #require(finished.status == 200, "\(finished.text)")
            let done = try await Self.wait(edge, id, token: a.token)
            #expect(JSONValues.string(done["status"]) == "SUCCEEDED", "\(done)")
            #expect(JSONValues.int64(done["rows"]) == Int64(file.rows), "the rows before the offset were counted by the first attempt")
            let after = try await Self.count(system, "SELECT count(*)::int8 FROM orders WHERE import_id = '\(id)'")
            let expected = file.goodOrders.filter { Int($0.name.split(separator: "-").last!)! >= Self.order(atRow: firstRow, in: lines) }
            #expect(after == expected.count && after > 0, "only the orders from row \(firstRow) on")
            let errors = try await Self.errors(edge, id, token: a.token)
            #expect(errors.map(\.line) == file.badLines.filter { $0 > firstRow }, "\(errors)")
            try await Self.drainOutbox(system)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    /// The order number of the data row `row` of the file's lines (its header first).
    static func order(atRow row: Int, in lines: ArraySlice<String>) -> Int {
        let name = lines[lines.startIndex + row].prefix { $0 != "," }
        return Int(name.split(separator: "-").last!)!
    }

    @Test("fulfillments: by order name, all units or named SKUs, bad rows by line, a second run unchanged; whole-file failures")
    func fulfillmentsAndFailures() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let a = try await EndToEndTests.register(edge, name: "Shipper")
            let orders = """
                Name,Financial Status,Currency,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku
                F-1,PAID,USD,2,Lamp,10.00,LAMP
                F-2,PAID,USD,1,Desk,100.00,DESK
                F-2,,,3,Chair,20.00,CHAIR
                F-3,PAID,USD,1,Rug,30.00,RUG

                """
            let imported = try await Self.upload(edge, orders, kind: "ORDERS", token: a.token)
            #expect(JSONValues.int64(imported["created"]) == 3, "\(imported)")

            // A dry run checks each shipment against the order as the real run would find it:
            // after the file's earlier shipments of the same order (F-2 has 3 chairs: a second
            // parcel of 2 is one too many; F-1's first parcel took all its units).
            let twoParcels = """
                Name,Tracking Number,Tracking Company,Lineitem sku,Lineitem quantity
                F-2,LX111111111CN,,CHAIR,2
                F-1,LX333333333CN,,,
                F-2,LX222222222CN,,CHAIR,2
                F-1,LX444444444CN,,,

                """
            let dryParcels = try await Self.upload(edge, twoParcels, kind: "FULFILLMENTS", dryRun: true, token: a.token)
            #expect(JSONValues.int64(dryParcels["appliedRows"]) == 2 && JSONValues.int64(dryParcels["errorRows"]) == 2, "\(dryParcels)")
            let dryErrors = try await Self.errors(edge, JSONValues.string(dryParcels["importId"]), token: a.token)
            #expect(
                dryErrors.map(\.line) == [4, 5] && dryErrors.map(\.field) == ["Lineitem quantity", "Lineitem quantity"], "\(dryErrors)")
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM fulfillments") == 0, "a dry run records nothing")

            let shipments = """
                Name,Tracking Number,Tracking Company,Lineitem sku,Lineitem quantity
                F-1,1Z999AA10123456784,ups,,
                F-2,9400111899223197428490,usps,DESK,1
                F-2,9400111899223197428490,usps,CHAIR,2
                F-9,LX123456789CN,,,
                F-3,RR123456789CN,,RUG,5
                F-3,??,,,

                """
            let run = try await Self.upload(edge, shipments, kind: "FULFILLMENTS", token: a.token)
            #expect(JSONValues.string(run["status"]) == "SUCCEEDED", "\(run)")
            #expect(JSONValues.int64(run["appliedRows"]) == 3 && JSONValues.int64(run["created"]) == 2, "\(run)")
            let errors = try await Self.errors(edge, JSONValues.string(run["importId"]), token: a.token)
            #expect(errors.map(\.line) == [5, 6, 7], "\(errors)")
            #expect(errors.map(\.field) == ["Name", "Lineitem quantity", "Tracking Number"], "\(errors)")
            let f1 = try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                var ids: [String: String] = [:]
                let found = try await client.query("SELECT import_reference, id FROM orders WHERE import_reference LIKE 'F-%'")
                for try await (name, id) in found.decode((String, UUID).self) { ids[name] = id.uuidString.lowercased() }
                return ids
            }
            let (orderOne, orderTwo) = (try #require(f1["F-1"]), try #require(f1["F-2"]))
            let one = try await edge.send(.GET, "/v1/orders/\(orderOne)", token: a.token)
            #expect(JSONValues.string(one.json["fulfillmentStatus"]) == "FULFILLED", "\(one.text)")
            let two = try await edge.send(.GET, "/v1/orders/\(orderTwo)", token: a.token)
            #expect(JSONValues.string(two.json["fulfillmentStatus"]) == "PARTIALLY_FULFILLED", "\(two.text)")
            let listed = try await edge.send(.GET, "/v1/orders/\(orderTwo)/fulfillments", token: a.token)
            let fulfillments = listed.json["fulfillments"] as? [[String: Any]] ?? []
            #expect(fulfillments.count == 1 && JSONValues.string(fulfillments.first?["carrier"]) == "usps", "\(listed.text)")
            let trackingURL = JSONValues.string(fulfillments.first?["trackingUrl"])
            #expect(trackingURL.hasPrefix("https://"), "\(listed.text)")

            let again = try await Self.upload(edge, shipments, kind: "FULFILLMENTS", token: a.token)
            #expect(JSONValues.int64(again["unchangedRows"]) == 3 && JSONValues.int64(again["created"]) == 0, "\(again)")
            #expect(try await Self.count(system, "SELECT count(*)::int8 FROM fulfillments") == 2)

            // Files that cannot be read: the import fails, saying why.
            let noColumn = try await Self.upload(edge, "Name,Currency\nX,USD\n", kind: "ORDERS", token: a.token)
            #expect(JSONValues.string(noColumn["status"]) == "FAILED")
            #expect(JSONValues.string(noColumn["failure"]).contains("Lineitem quantity"), "\(noColumn)")
            let noKind = try await edge.sendRaw(
                .POST, "/v1/order-imports.csv?name=x.csv", body: Data("a\n".utf8), headers: [("Authorization", "Bearer \(a.token)")])
            #expect(noKind.status == 400 && PaymentTests.field(noKind) == "kind", "\(noKind.text)")
            let misspelt = try await edge.sendRaw(
                .POST, "/v1/order-imports.csv?kind=ORDERS&name=x.csv&dryrun=true", body: Data("a\n".utf8),
                headers: [("Authorization", "Bearer \(a.token)")])
            #expect(
                misspelt.status == 400 && PaymentTests.field(misspelt) == "dryrun", "a real import for a misspelt dry run: \(misspelt.text)"
            )
            let empty = try await edge.sendRaw(
                .POST, "/v1/order-imports.csv?kind=ORDERS&name=x.csv", body: Data(), headers: [("Authorization", "Bearer \(a.token)")])
            #expect(empty.status == 400 && PaymentTests.field(empty) == "body", "\(empty.text)")
            let tooLarge = try await edge.send(
                .POST, "/v1/order-imports", json: ["kind": "ORDERS", "name": "big.csv", "sizeBytes": "\(1 << 30)"], token: a.token,
                headers: [("Idempotency-Key", UUID().uuidString)])
            #expect(tooLarge.status == 400 && PaymentTests.field(tooLarge) == "size_bytes", "\(tooLarge.text)")
            let anonymous = try await edge.sendRaw(.POST, "/v1/order-imports.csv?kind=ORDERS&name=x.csv", body: Data("a\n".utf8))
            #expect(anonymous.status == 401)
            try await Self.drainOutbox(system)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
