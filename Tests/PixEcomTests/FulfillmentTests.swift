import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Testing

@testable import OrderService

/// Fulfillments: the fulfillment status as a projection of the order's history (pure, then
/// through the edge), and carrier tracking refreshed from 17TRACK's API (a stand-in over HTTPS in
/// the API's documented shapes).
@Suite("Fulfillments")
struct FulfillmentTests {
    typealias Entry = OrderHistory.Entry

    @Test("shipments and returns fold to UNFULFILLED, PARTIALLY_FULFILLED, FULFILLED and RETURNED in any order; over-shipping is refused")
    func statusFromHistory() throws {
        // Two lines: 2 units and 1 unit.
        let base = OrderHistory(total: 3000, ordered: [2, 1], entries: [Entry(kind: .created, amount: 3000)])
        #expect(base.state.fulfillmentStatus == .unfulfilled)
        var history = base
        let first = try history.admit(.fulfill(reference: "f1", quantities: [1]))
        #expect(first.quantities == [1, 0])
        history.entries.append(first)
        #expect(history.state.fulfillmentStatus == .partiallyFulfilled && history.state.fulfilled == [1, 0])
        // More than is left of a line, a line the order does not have, nothing at all.
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.fulfill(reference: "f2", quantities: [2])) }
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.fulfill(reference: "f2", quantities: [0, 0, 1])) }
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.fulfill(reference: "f2", quantities: [0])) }
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.fulfill(reference: "f1", quantities: [0, 1])) }
        // The rest: everything not yet shipped.
        let rest = try history.admit(.fulfill(reference: "f2", quantities: nil))
        #expect(rest.quantities == [1, 1])
        history.entries.append(rest)
        #expect(history.state.fulfillmentStatus == .fulfilled)
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.fulfill(reference: "f3", quantities: nil)) }
        // A return of one unit; a cancel of the shipment it came from is then refused.
        let returned = try history.admit(.recordReturn(quantities: [1], reference: "rma-1", note: "broken"))
        history.entries.append(returned)
        #expect(history.state.fulfillmentStatus == .fulfilled && history.state.returned == [1, 0])
        #expect(throws: OrderHistory.Refusal.self) { try history.admit(.recordReturn(quantities: [0, 2], reference: "", note: "")) }
        let cancelFirst = try history.admit(.cancelFulfillment(reference: "f1"))
        #expect(cancelFirst.quantities == [1, 0], "f1 shipped 1 of line 0; 1 unit of line 0 stays shipped (f2), which covers the return")
        let cancelSecond = try history.admit(.cancelFulfillment(reference: "f2"))
        var both = history
        both.entries.append(cancelFirst)
        #expect(throws: OrderHistory.Refusal.self, "f2's unit of line 0 is the returned one") {
            try both.admit(.cancelFulfillment(reference: "f2"))
        }
        #expect(throws: OrderHistory.Refusal.self) { try both.admit(.cancelFulfillment(reference: "f1")) }
        _ = cancelSecond
        // Everything shipped comes back: RETURNED.
        let all = try history.admit(.recordReturn(quantities: [1, 1], reference: "rma-2", note: ""))
        history.entries.append(all)
        #expect(history.state.fulfillmentStatus == .returned)
        // Order does not matter: every permutation of these entries gives one state.
        let expected = history.state
        for permutation in OrderHistoryTests.permutations(history.entries) {
            #expect(OrderHistory(total: 3000, ordered: [2, 1], entries: permutation).state == expected)
        }
        // A cancelled order ships nothing.
        var cancelled = base
        cancelled.entries.append(Entry(kind: .cancelled, reason: "customer"))
        #expect(throws: OrderHistory.Refusal.self) { try cancelled.admit(.fulfill(reference: "f", quantities: nil)) }
    }

    @Test("through the edge: partial and full shipments, tracking URLs, cancel, returns, refusals naming the line, keys replayed")
    func fulfillmentsThroughTheEdge() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Shipper")
            let order = try await EndToEndTests.create(
                edge, "/v1/orders",
                [
                    "currency": "USD",
                    "lineItems": [
                        ["sku": "MUG", "title": "Mug", "quantity": 2, "unitPrice": "1200"],
                        ["sku": "TEE", "title": "T-shirt", "quantity": 1, "unitPrice": "2500"],
                    ],
                ], token: seller.token)
            let path = "/v1/orders/\(order)/fulfillments"
            let key = "ship-\(UUID().uuidString)"
            let body: [String: Any] = ["lines": [["line": 0, "quantity": 1]], "carrier": "UPS", "trackingNumber": "1z 999 aa1 0123456784"]
            let first = try await edge.send(.POST, path, json: body, token: seller.token, headers: [("Idempotency-Key", key)])
            #expect(first.status == 200, "\(first.text)")
            #expect(JSONValues.string(first.json["trackingNumber"]) == "1Z999AA10123456784")
            #expect(JSONValues.string(first.json["trackingUrl"]) == "https://www.ups.com/track?tracknum=1Z999AA10123456784")
            #expect(JSONValues.string(first.json["shipmentStatus"]) == "SHIPMENT_UNKNOWN")
            let replay = try await edge.send(.POST, path, json: body, token: seller.token, headers: [("Idempotency-Key", key)])
            #expect(replay.text == first.text, "the replay is the first answer")
            let firstID = JSONValues.string(first.json["id"])
            var current = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token).json
            #expect(JSONValues.string(current["fulfillmentStatus"]) == "PARTIALLY_FULFILLED")
            let items = current["lineItems"] as? [[String: Any]] ?? []
            #expect(items.map { ($0["fulfilledQuantity"] as? Int) ?? 0 } == [1, 0])

            // Refusals say which line and why.
            let over = try await edge.send(.POST, path, json: ["lines": [["line": 0, "quantity": 2]]], token: seller.token)
            #expect(over.status == 400 && PaymentTests.field(over) == "lines", "\(over.text)")
            #expect(PaymentTests.message(over).contains("line 0: 2 units asked, 1 not yet fulfilled"), "\(over.text)")
            let noLine = try await edge.send(.POST, path, json: ["lines": [["line": 5, "quantity": 1]]], token: seller.token)
            #expect(noLine.status == 400 && PaymentTests.message(noLine).contains("has 2 line items"), "\(noLine.text)")
            let twice = try await edge.send(
                .POST, path, json: ["lines": [["line": 1, "quantity": 1], ["line": 1, "quantity": 1]]], token: seller.token)
            #expect(twice.status == 400 && PaymentTests.field(twice) == "lines[1].line", "\(twice.text)")
            let badNumber = try await edge.send(.POST, path, json: ["trackingNumber": "<script>"], token: seller.token)
            #expect(badNumber.status == 400 && PaymentTests.field(badNumber) == "tracking_number", "\(badNumber.text)")
            let badURL = try await edge.send(.POST, path, json: ["trackingUrl": "http://x.example/t"], token: seller.token)
            #expect(badURL.status == 400 && PaymentTests.field(badURL) == "tracking_url", "\(badURL.text)")

            // The rest ships: FULFILLED; nothing is left to ship.
            let rest = try await edge.send(
                .POST, path, json: ["carrier": "Local Courier", "trackingNumber": "LC-0001"], token: seller.token)
            #expect(rest.status == 200, "\(rest.text)")
            #expect(JSONValues.string(rest.json["trackingUrl"]) == "https://t.17track.net/en#nums=LC-0001")
            current = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token).json
            #expect(JSONValues.string(current["fulfillmentStatus"]) == "FULFILLED")
            let none = try await edge.send(.POST, path, json: [:], token: seller.token)
            #expect(none.status == 400 && PaymentTests.message(none).contains("no units left"), "\(none.text)")

            // Cancelling the first shipment: its unit is unshipped again.
            let cancel = try await edge.send(.POST, "\(path)/\(firstID)/cancel", json: [:], token: seller.token)
            #expect(cancel.status == 200 && (cancel.json["cancelled"] as? Bool) == true, "\(cancel.text)")
            let again = try await edge.send(.POST, "\(path)/\(firstID)/cancel", json: [:], token: seller.token)
            #expect(again.status == 422 && PaymentTests.message(again).contains("cancelled already"), "\(again.text)")
            let retrack = try await edge.send(
                .POST, "\(path)/\(firstID)/tracking", json: ["trackingNumber": "NEW1234"], token: seller.token)
            #expect(retrack.status == 422, "a cancelled shipment's tracking cannot change: \(retrack.text)")
            current = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token).json
            #expect(JSONValues.string(current["fulfillmentStatus"]) == "PARTIALLY_FULFILLED")

            // Returns: of more than shipped refused; of all that is shipped: RETURNED.
            let tooMany = try await edge.send(
                .POST, "/v1/orders/\(order)/returns", json: ["lines": [["line": 0, "quantity": 2]]], token: seller.token)
            #expect(tooMany.status == 400 && PaymentTests.message(tooMany).contains("shipped and not yet returned"), "\(tooMany.text)")
            let noLines = try await edge.send(.POST, "/v1/orders/\(order)/returns", json: [:], token: seller.token)
            #expect(noLines.status == 400 && PaymentTests.field(noLines) == "lines", "\(noLines.text)")
            let back = try await edge.send(
                .POST, "/v1/orders/\(order)/returns",
                json: ["lines": [["line": 0, "quantity": 1], ["line": 1, "quantity": 1]], "reference": "RMA-7", "reason": "wrong size"],
                token: seller.token)
            #expect(back.status == 200 && JSONValues.string(back.json["fulfillmentStatus"]) == "RETURNED", "\(back.text)")
            let kinds = (back.json["events"] as? [[String: Any]] ?? []).map { JSONValues.string($0["type"]) }
            #expect(kinds == ["created", "fulfilled", "fulfilled", "fulfillment_cancelled", "returned"], "\(kinds)")

            let listed = try await edge.send(.GET, path, token: seller.token)
            let fulfillments = listed.json["fulfillments"] as? [[String: Any]] ?? []
            #expect(fulfillments.map { ($0["cancelled"] as? Bool) ?? false } == [true, false], "\(listed.text)")
            let missing = try await edge.send(.GET, "/v1/orders/\(UUID().uuidString.lowercased())/fulfillments", token: seller.token)
            #expect(missing.status == 404, "\(missing.text)")

            // The projection is the history's: rebuilt from it alone, it is the same.
            let database = system.databases["orders"]!
            try await TestDatabases.withClient(database.admin) { client in
                _ = try await client.query("UPDATE order_line_items SET fulfilled_quantity = 0, returned_quantity = 0")
                _ = try await client.query("UPDATE orders SET fulfillment_status = 'UNFULFILLED'")
            }
            try await database.withAppClient(connections: 1) { client in
                let rebuilt = try await OrderStore(db: client).rebuild(
                    UUID(uuidString: order)!, sellerID: UUID(uuidString: seller.sellerID)!, logger: Logger(label: "test"))
                #expect(rebuilt.fulfillmentStatus == .returned)
                #expect(rebuilt.lineItems.map(\.fulfilled) == [1, 1] && rebuilt.lineItems.map(\.returned) == [1, 1])
            }
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test(
        "the tracking job registers numbers once, records the carrier's events once, stops at DELIVERED, and reports the provider's refusals"
    )
    func trackingRefresh() async throws {
        let certificates = try TestCertificates.shared.get()
        let standIn = try await TrackingStandIn.start(
            token: "test-17token", certificate: certificates.path("edge-https.pem"), key: certificates.path("edge-https.key"))
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        let http = try TrackingHTTPClient.make(caFile: certificates.path("ca.pem"))
        let logger = Logger(label: "test.tracking")
        do {
            let seller = try await EndToEndTests.register(edge, name: "Tracker")
            func ship(_ number: String, carrier: String) async throws -> String {
                let order = try await EndToEndTests.create(
                    edge, "/v1/orders", ["currency": "USD", "lineItems": [["sku": "A", "title": "A", "quantity": 1, "unitPrice": "100"]]],
                    token: seller.token)
                let shipped = try await edge.send(
                    .POST, "/v1/orders/\(order)/fulfillments", json: ["carrier": carrier, "trackingNumber": number], token: seller.token)
                try #require(shipped.status == 200, "\(shipped.text)")
                return order
            }
            let moving = try await ship("1Z999AA10123456784", carrier: "UPS")
            let unknownCarrier = try await ship("RR123456789CN", carrier: "Some Post")
            let malformed = try await ship("AB-1", carrier: "USPS")
            standIn.script(
                "1Z999AA10123456784",
                .init(
                    status: "InTransit", subStatus: "InTransit_Departure",
                    scans: [
                        .init(
                            time: "2026-12-02T08:00:00-05:00", subStatus: "InTransit_Departure", description: "Departed facility",
                            location: "Louisville, KY, US"),
                        .init(
                            time: "2026-12-01T17:30:00-05:00", subStatus: "InTransit_PickedUp", description: "Picked up",
                            location: "Newark, NJ, US"),
                    ]))

            try await system.databases["orders"]!.withAppClient(connections: 2) { db in
                // A wrong key: the whole run stops, saying so; nothing is marked checked.
                let wrongKey = TrackingRefresh(
                    db: db, provider: TrackingProvider(http: http.client, baseURL: standIn.baseURL, token: "wrong"), pause: .zero)
                let refused = try await wrongKey.refresh(logger: logger)
                guard case .unauthorized(let message) = refused.failure else {
                    Issue.record("expected unauthorized, got \(String(describing: refused.failure))")
                    return
                }
                #expect(message.contains("Invalid security key"), "\(message)")
                #expect(refused.due == 3 && refused.checked == 0)

                let provider = TrackingProvider(http: http.client, baseURL: standIn.baseURL, token: "test-17token")
                var job = TrackingRefresh(db: db, provider: provider, pause: .zero)
                // Rate limited on the first call: the run stops, the shipments stay due.
                standIn.failNext(1)
                #expect(try await job.refresh(logger: logger).failure == .rateLimited)
                let summary = try await job.refresh(logger: logger)
                #expect(summary.failure == nil, "\(summary)")
                #expect(summary.due == 3 && summary.registered == 2 && summary.checked == 2 && summary.rejected == 1, "\(summary)")
                #expect(summary.eventsAdded == 2)
                // The known carrier went with its 17TRACK code, the unknown one without (detected).
                let registration = standIn.calls.first { $0.endpoint == "register" }
                #expect(registration?.numbers.sorted() == ["1Z999AA10123456784", "AB-1", "RR123456789CN"])
                #expect(standIn.quota == 98, "each accepted registration costs one unit; the rejected one none")

                // Checked just now: not due again within the interval.
                #expect(try await job.refresh(logger: logger).due == 0)
                // Due again (interval 0): no second registration, no duplicate events; delivered.
                job.interval = .zero
                standIn.script(
                    "1Z999AA10123456784",
                    .init(
                        status: "Delivered", subStatus: "Delivered_Other",
                        scans: [
                            .init(
                                time: "2026-12-03T14:12:00-05:00", subStatus: "Delivered_Other", description: "Delivered, front door",
                                location: "Brooklyn, NY, US"),
                            .init(
                                time: "2026-12-02T08:00:00-05:00", subStatus: "InTransit_Departure", description: "Departed facility",
                                location: "Louisville, KY, US"),
                            .init(
                                time: "2026-12-01T17:30:00-05:00", subStatus: "InTransit_PickedUp", description: "Picked up",
                                location: "Newark, NJ, US"),
                        ]))
                let registers = standIn.calls.filter { $0.endpoint == "register" }.count
                let second = try await job.refresh(logger: logger)
                #expect(second.eventsAdded == 1 && second.registered == 0, "\(second)")
                #expect(
                    standIn.calls.filter { $0.endpoint == "register" }.count == registers + 1,
                    "only the rejected number is tried for registration again")
                // Delivered shipments are no longer looked up.
                let third = try await job.refresh(logger: logger)
                #expect(third.due == 2, "the unknown carrier's and the malformed number's; not the delivered one: \(third)")
                #expect(try await provider.quota().quotaRemain == 98)
            }

            let tracked = try await edge.send(.GET, "/v1/orders/\(moving)/fulfillments", token: seller.token)
            let shipment = (tracked.json["fulfillments"] as? [[String: Any]])?.first ?? [:]
            #expect(JSONValues.string(shipment["shipmentStatus"]) == "DELIVERED", "\(tracked.text)")
            #expect(JSONValues.string(shipment["deliveredTime"]) == "2026-12-03T19:12:00.000Z", "\(tracked.text)")
            let events = shipment["events"] as? [[String: Any]] ?? []
            #expect(events.map { JSONValues.string($0["description"]) } == ["Delivered, front door", "Departed facility", "Picked up"])
            #expect(events.map { JSONValues.string($0["status"]) } == ["DELIVERED", "IN_TRANSIT", "IN_TRANSIT"])
            #expect(JSONValues.string(events.last?["time"]) == "2026-12-01T22:30:00.000Z")
            let other = try await edge.send(.GET, "/v1/orders/\(unknownCarrier)/fulfillments", token: seller.token)
            #expect(JSONValues.string((other.json["fulfillments"] as? [[String: Any]])?.first?["shipmentStatus"]) == "SHIPMENT_NOT_FOUND")
            let rejected = try await edge.send(.GET, "/v1/orders/\(malformed)/fulfillments", token: seller.token)
            let error = JSONValues.string((rejected.json["fulfillments"] as? [[String: Any]])?.first?["trackingError"])
            #expect(error.contains("-18010012") && error.contains("is invalid"), "\(rejected.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await http.client.shutdown()
        try await edge.shutdown()
        await system.stop()
        await standIn.stop()
    }
}
