import Foundation
import Logging
import PostgresNIO
import Testing

@testable import OrderService

/// Payment transactions through the edge: idempotency keys on every mutating call, the order row
/// as a projection of its history, refusals with their reasons, and the stats events of money.
@Suite("Payments")
struct PaymentTests {
    static func newOrder(_ edge: EdgeHTTPClient, _ seller: EndToEndTests.Seller, total: Int) async throws -> String {
        try await EndToEndTests.create(
            edge, "/v1/orders",
            ["currency": "USD", "lineItems": [["sku": "S-1", "title": "Lamp", "quantity": 1, "unitPrice": "\(total)"]]],
            token: seller.token)
    }

    /// `error.details[0].field` of an error reply.
    static func field(_ reply: EdgeHTTPClient.Reply) -> String? {
        ((reply.json["error"] as? [String: Any])?["details"] as? [[String: Any]])?.first?["field"] as? String
    }

    static func message(_ reply: EdgeHTTPClient.Reply) -> String {
        (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    @Test("every mutating call replays its first result under the same Idempotency-Key and refuses the key with other parameters")
    func idempotencyOnEveryMutation() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Keys")
            let a = try await Self.newOrder(edge, seller, total: 3000)
            let b = try await Self.newOrder(edge, seller, total: 2000)
            let c = try await Self.newOrder(edge, seller, total: 1000)
            let d = try await Self.newOrder(edge, seller, total: 1000)
            let lineItems: [[String: Any]] = [["sku": "S-2", "title": "Desk", "quantity": 2, "unitPrice": "1500"]]

            struct Step {
                var path: String
                var body: [String: Any]
                /// The same key with something different: refused.
                var otherPath: String
                var otherBody: [String: Any]
                /// The order whose history must not grow on a replay ("" for CreateOrder).
                var order: String
            }
            let steps: [Step] = [
                Step(
                    path: "/v1/orders", body: ["currency": "USD", "lineItems": lineItems], otherPath: "/v1/orders",
                    otherBody: ["currency": "EUR", "lineItems": lineItems], order: ""),
                Step(
                    path: "/v1/orders/\(a)/authorize", body: ["amount": "3000", "reference": "pi_a"],
                    otherPath: "/v1/orders/\(a)/authorize",
                    otherBody: ["amount": "2999", "reference": "pi_a"], order: a),
                Step(
                    path: "/v1/orders/\(a)/capture", body: ["amount": "3000", "reference": "pi_a"], otherPath: "/v1/orders/\(a)/capture",
                    otherBody: ["amount": "1", "reference": "pi_a"], order: a),
                Step(
                    path: "/v1/orders/\(a)/refund", body: ["amount": "500", "reference": "re_1", "reason": "scratched"],
                    otherPath: "/v1/orders/\(a)/refund", otherBody: ["amount": "501", "reference": "re_1", "reason": "scratched"], order: a),
                Step(
                    path: "/v1/orders/\(a)/chargebacks", body: ["amount": "1000", "reference": "dp_1"],
                    otherPath: "/v1/orders/\(a)/chargebacks",
                    otherBody: ["amount": "999", "reference": "dp_1"], order: a),
                Step(
                    path: "/v1/orders/\(a)/chargebacks/dp_1/reverse", body: [:], otherPath: "/v1/orders/\(a)/chargebacks/dp_2/reverse",
                    otherBody: [:], order: a),
                Step(path: "/v1/orders/\(a)/close", body: [:], otherPath: "/v1/orders/\(b)/close", otherBody: [:], order: a),
                Step(
                    path: "/v1/orders/\(b)/pay", body: ["reference": "ch_b"], otherPath: "/v1/orders/\(b)/pay",
                    otherBody: ["reference": "ch_x"], order: b),
                Step(
                    path: "/v1/orders/\(c)/cancel", body: ["reason": "CUSTOMER"], otherPath: "/v1/orders/\(c)/cancel",
                    otherBody: ["reason": "FRAUD"], order: c),
                Step(
                    path: "/v1/orders/\(d)/authorize", body: ["amount": "1000", "reference": "pi_d"],
                    otherPath: "/v1/orders/\(d)/authorize",
                    otherBody: ["amount": "1000", "reference": "pi_e"], order: d),
                Step(
                    path: "/v1/orders/\(d)/void", body: ["reference": "pi_d"], otherPath: "/v1/orders/\(d)/void",
                    otherBody: ["reference": "pi_e"], order: d),
            ]
            func events(_ order: String) async throws -> Int {
                guard !order.isEmpty else { return 0 }
                return (try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token).json["events"] as? [Any])?.count ?? -1
            }
            var keys: [String] = []
            for step in steps {
                let key = "key-\(UUID().uuidString)"
                keys.append(key)
                let first = try await edge.send(.POST, step.path, json: step.body, token: seller.token, headers: [("Idempotency-Key", key)])
                #expect(first.status == 200, "\(step.path): \(first.text)")
                let before = try await events(step.order)
                let replay = try await edge.send(
                    .POST, step.path, json: step.body, token: seller.token, headers: [("Idempotency-Key", key)])
                #expect(replay.status == 200, "\(step.path) replay: \(replay.text)")
                #expect(replay.text == first.text, "\(step.path): the replay is the first result, byte for byte")
                #expect(try await events(step.order) == before, "\(step.path): a replay records nothing")
                let other = try await edge.send(
                    .POST, step.otherPath, json: step.otherBody, token: seller.token, headers: [("Idempotency-Key", key)])
                #expect(other.status == 422, "\(step.otherPath) with a used key: \(other.status) \(other.text)")
                #expect(Self.message(other).contains("idempotency-key was already used"), "\(other.text)")
            }
            // A key belongs to the seller, not the method: the capture's key on a refund is a reuse.
            let crossed = try await edge.send(
                .POST, "/v1/orders/\(b)/refund", json: ["amount": "1"], token: seller.token, headers: [("Idempotency-Key", keys[2])])
            #expect(crossed.status == 422 && Self.message(crossed).contains("CapturePayment"), "\(crossed.text)")
            // Without a key nothing is deduplicated: two refunds are two refunds.
            for _ in 0..<2 {
                let refund = try await edge.send(.POST, "/v1/orders/\(b)/refund", json: ["amount": "100"], token: seller.token)
                #expect(refund.status == 200, "\(refund.text)")
            }
            let final = try await edge.send(.GET, "/v1/orders/\(a)", token: seller.token).json
            #expect(JSONValues.string(final["status"]) == "CLOSED")
            #expect(JSONValues.string(final["financialStatus"]) == "PARTIALLY_REFUNDED")
            #expect(JSONValues.string(final["captured"]) == "3000" && JSONValues.string(final["refunded"]) == "500")
            let kinds = (final["events"] as? [[String: Any]] ?? []).map { JSONValues.string($0["type"]) }
            #expect(kinds == ["created", "authorized", "captured", "refunded", "charged_back", "chargeback_reversed", "closed"])
            let b2 = try await edge.send(.GET, "/v1/orders/\(b)", token: seller.token).json
            #expect(JSONValues.string(b2["refunded"]) == "200")

            // The money movements went to StatsService's outbox, one event each, in order.
            let topics = try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                let rows = try await client.query("SELECT topic FROM outbox ORDER BY created_at, id")
                var topics: [String] = []
                for try await topic in rows.decode(String.self) { topics.append(topic) }
                return topics
            }
            #expect(
                topics == [
                    "order.paid", "order.refunded", "order.charged_back", "order.chargeback_reversed", "order.paid", "order.refunded",
                    "order.refunded",
                ], "\(topics)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("refusals name their reason; the order row is a projection its history rebuilds; keys expire after 24 hours")
    func refusalsProjectionAndExpiry() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Ledger")
            let order = try await Self.newOrder(edge, seller, total: 5000)
            let early = try await edge.send(.POST, "/v1/orders/\(order)/refund", json: ["amount": "1"], token: seller.token)
            #expect(early.status == 422 && Self.message(early).contains("nothing was captured"), "\(early.text)")
            #expect(try await edge.send(.POST, "/v1/orders/\(order)/pay", json: [:], token: seller.token).status == 200)
            let over = try await edge.send(.POST, "/v1/orders/\(order)/refund", json: ["amount": "5001"], token: seller.token)
            #expect(over.status == 400 && Self.field(over) == "amount", "\(over.text)")
            let bad = try await edge.send(
                .POST, "/v1/orders/\(order)/refund", json: ["amount": "-3", "reference": "re with space"], token: seller.token)
            #expect(bad.status == 400, "\(bad.text)")
            let fields = ((bad.json["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(Set(fields) == ["amount", "reference"], "every bad field is named: \(bad.text)")
            let noDispute = try await edge.send(.POST, "/v1/orders/\(order)/chargebacks", json: ["amount": "10"], token: seller.token)
            #expect(noDispute.status == 400 && Self.field(noDispute) == "reference", "\(noDispute.text)")
            let cancel = try await edge.send(.POST, "/v1/orders/\(order)/cancel", json: ["reason": "OTHER"], token: seller.token)
            #expect(cancel.status == 422 && Self.message(cancel).contains("refund it before cancelling"), "\(cancel.text)")
            #expect(
                try await edge.send(.POST, "/v1/orders/\(order)/refund", json: ["amount": "1200"], token: seller.token).status == 200)
            let before = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token)

            // Break the projection by hand; the history alone restores it.
            let database = system.databases["orders"]!
            _ = try await TestDatabases.withClient(database.admin) { client in
                try await client.query(
                    """
                    UPDATE orders SET financial_status = 'PENDING', captured = 0, refunded = 0, paid_at = NULL, order_status = 'CLOSED'
                    WHERE id = \(UUID(uuidString: order)!)
                    """)
            }
            let broken = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token)
            #expect(JSONValues.string(broken.json["financialStatus"]) == "PENDING")
            let sellerID = UUID(uuidString: seller.sellerID)!
            _ = try await database.withAppClient(connections: 1) { client in
                try await OrderStore(db: client).rebuild(UUID(uuidString: order)!, sellerID: sellerID, logger: Logger(label: "test"))
            }
            let rebuilt = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token)
            #expect(rebuilt.text == before.text, "rebuilt from the history: \(rebuilt.text)")
            #expect(JSONValues.string(rebuilt.json["financialStatus"]) == "PARTIALLY_REFUNDED")

            // Keys: one aged past 24 hours is pruned, and free for a new request meanwhile; a
            // younger one stays.
            let old = "old-\(UUID().uuidString)"
            let young = "young-\(UUID().uuidString)"
            for key in [old, young] {
                let reply = try await edge.send(
                    .POST, "/v1/orders/\(order)/refund", json: ["amount": "10"], token: seller.token, headers: [("Idempotency-Key", key)])
                #expect(reply.status == 200, "\(reply.text)")
            }
            try await TestDatabases.withClient(database.admin) { client in
                try await client.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = \(old)")
                try await client.query("UPDATE idempotency_keys SET created_at = now() - interval '23 hours' WHERE key = \(young)")
            }
            let reused = try await edge.send(
                .POST, "/v1/orders/\(order)/refund", json: ["amount": "20"], token: seller.token, headers: [("Idempotency-Key", old)])
            #expect(
                reused.status == 200 && JSONValues.string(reused.json["refunded"]) == "1240", "an expired key is a new key: \(reused.text)")
            _ = try await TestDatabases.withClient(database.admin) { client in
                try await client.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = \(old)")
            }
            let pruned = try await database.withAppClient(connections: 1) { client in
                try await OrderStore(db: client).pruneIdempotencyKeys(logger: Logger(label: "test"))
            }
            #expect(pruned == 1)
            let left = try await TestDatabases.withClient(database.admin) { client in
                let rows = try await client.query("SELECT key FROM idempotency_keys WHERE key IN (\(old), \(young))")
                var keys: [String] = []
                for try await key in rows.decode(String.self) { keys.append(key) }
                return keys
            }
            #expect(left == [young])
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
