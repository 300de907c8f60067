import Foundation
import Testing

@testable import OrderService

/// Stripe webhooks: the signature check (pure) and deliveries through the edge to OrderService.
@Suite("Stripe webhooks")
struct WebhookTests {
    static let secret = "whsec_test_\(UUID().uuidString)"
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let body = Array(#"{"id":"evt_1","type":"payment_intent.succeeded"}"#.utf8)

    @Test("a signature over the exact body under a configured secret passes; anything else fails with the reason")
    func signatures() throws {
        let verifier = StripeSignature(secrets: ["whsec_old", Self.secret])
        let timestamp = Int64(self.now.timeIntervalSince1970)
        let header = StripeSignature.header(for: self.body, secret: Self.secret, timestamp: timestamp)
        try verifier.verify(header: header, body: self.body, now: self.now)
        // Several v1 values (Stripe sends one per secret while rotating): any match passes.
        let other = StripeSignature.header(for: self.body, secret: "whsec_other", timestamp: timestamp)
        try verifier.verify(header: other + "," + header.split(separator: ",")[1], body: self.body, now: self.now)

        #expect(throws: StripeSignature.Failure.noMatch) {
            try verifier.verify(header: header, body: self.body + Array(" ".utf8), now: self.now)
        }
        #expect(throws: StripeSignature.Failure.noMatch) { try verifier.verify(header: other, body: self.body, now: self.now) }
        #expect(throws: StripeSignature.Failure.stale(seconds: 301)) {
            try verifier.verify(header: header, body: self.body, now: self.now.addingTimeInterval(301))
        }
        #expect(throws: StripeSignature.Failure.missingHeader) { try verifier.verify(header: nil, body: self.body, now: self.now) }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verifier.verify(header: "v1=abc", body: self.body, now: self.now) }
        #expect(throws: StripeSignature.Failure.malformedHeader) {
            try verifier.verify(header: "t=1,v1=zz", body: self.body, now: self.now)
        }
    }

    /// A Stripe event as Stripe shapes it: `data.object` is the PaymentIntent, Charge or Dispute.
    static func event(_ id: String, _ type: String, object: [String: Any]) throws -> [UInt8] {
        let event: [String: Any] = [
            "id": id, "object": "event", "api_version": "2024-06-20", "type": type, "created": 1_790_000_000, "livemode": false,
            "data": ["object": object],
        ]
        return Array(try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]))
    }

    static func metadata(order: String, seller: String) -> [String: String] {
        ["pixecom_order_id": order, "pixecom_seller_id": seller]
    }

    static func paymentSucceeded(_ id: String, intent: String, amount: Int, order: String, seller: String) throws -> [UInt8] {
        try Self.event(
            id, "payment_intent.succeeded",
            object: [
                "id": intent, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": "usd",
                "status": "succeeded", "metadata": Self.metadata(order: order, seller: seller),
            ])
    }

    static func chargeRefunded(_ id: String, charge: String, intent: String, cumulative: Int, order: String, seller: String) throws
        -> [UInt8]
    {
        try Self.event(
            id, "charge.refunded",
            object: [
                "id": charge, "object": "charge", "payment_intent": intent, "amount_refunded": cumulative, "refunded": false,
                "currency": "usd", "metadata": Self.metadata(order: order, seller: seller),
            ])
    }

    /// Disputes carry no PixEcom metadata: their order is found through the PaymentIntent.
    static func dispute(_ id: String, _ type: String, dispute: String, intent: String, amount: Int) throws -> [UInt8] {
        try Self.event(
            id, type,
            object: [
                "id": dispute, "object": "dispute", "amount": amount, "charge": "ch_\(intent)", "payment_intent": intent,
                "currency": "usd", "status": type.hasSuffix("reinstated") ? "won" : "needs_response", "reason": "fraudulent",
                "metadata": [String: String](),
            ])
    }

    static func deliver(_ edge: EdgeHTTPClient, _ body: [UInt8], secret: String = Self.secret, age: TimeInterval = 0) async throws
        -> EdgeHTTPClient.Reply
    {
        let timestamp = Int64(Date().timeIntervalSince1970 - age)
        let header = StripeSignature.header(for: body, secret: secret, timestamp: timestamp)
        return try await edge.sendRaw(
            .POST, "/v1/webhooks/stripe", body: Data(body), headers: [("Stripe-Signature", header), ("Content-Type", "application/json")])
    }

    /// The order once `done` holds for it (the jobs apply events just after the answer), failing
    /// after 60 s.
    static func order(
        _ edge: EdgeHTTPClient, _ id: String, token: String, until done: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<600 {
            last = try await edge.send(.GET, "/v1/orders/\(id)", token: token).json
            if done(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("order \(id) never reached the expected state: \(last)")
        return last
    }

    @Test(
        "through the edge: a signed payment is queued and applied once, refunds follow the cumulative amount, bad signatures change nothing"
    )
    func deliveries() async throws {
        let system = try await PixEcomSystem.start(ordersEnvironment: ["PIXECOM_STRIPE_WEBHOOK_SECRETS": Self.secret])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Hooks")
            let order = try await EndToEndTests.create(
                edge, "/v1/orders", ["currency": "USD", "lineItems": [["sku": "S", "title": "T", "quantity": 2, "unitPrice": "2500"]]],
                token: seller.token)
            func status(_ order: [String: Any]) -> String { JSONValues.string(order["financialStatus"]) }
            let intent = "pi_\(order.prefix(8))"

            let paid = try Self.paymentSucceeded("evt_pay_\(order)", intent: intent, amount: 5000, order: order, seller: seller.sellerID)
            let forged = try await Self.deliver(edge, paid, secret: "whsec_attacker")
            #expect(forged.status == 401, "\(forged.text)")
            let replayedLater = try await Self.deliver(edge, paid, age: 600)
            #expect(replayedLater.status == 401)

            let first = try await Self.deliver(edge, paid)
            #expect(first.status == 200, "\(first.text)")
            #expect(JSONValues.string(first.json["outcome"]) == "queued")
            let again = try await Self.deliver(edge, paid)
            #expect(JSONValues.string(again.json["outcome"]) == "duplicate")
            _ = try await Self.order(edge, order, token: seller.token) { status($0) == "PAID" }
            // A payment Stripe captured is refunded in Stripe: a refund recorded by hand as well
            // would count twice once Stripe reports it.
            let byHand = try await edge.send(
                .POST, "/v1/orders/\(order)/refund", json: ["amount": "1000", "reference": "re_1"], token: seller.token,
                headers: [("Idempotency-Key", UUID().uuidString)])
            #expect(byHand.status == 422 && PaymentTests.message(byHand).contains("refund it in Stripe"), "\(byHand.text)")

            // Refunds carry the charge's cumulative amount_refunded: 1000, then 1000 again (a
            // redelivery under a new event id, which adds nothing), then 5000 in all.
            let charge = "ch_\(order.prefix(8))"
            for (index, cumulative) in [1000, 1000, 5000].enumerated() {
                let reply = try await Self.deliver(
                    edge,
                    try Self.chargeRefunded(
                        "evt_r\(index)_\(order)", charge: charge, intent: intent, cumulative: cumulative, order: order,
                        seller: seller.sellerID))
                #expect(JSONValues.string(reply.json["outcome"]) == "queued", "\(reply.text)")
            }
            let final = try await Self.order(edge, order, token: seller.token) { status($0) == "REFUNDED" }
            #expect(JSONValues.string(final["refunded"]) == "5000")
            let refunds = (final["events"] as? [[String: Any]] ?? []).filter { JSONValues.string($0["type"]) == "refunded" }
            // One or two entries, as the jobs happened to run (5000 first leaves the 1000s nothing
            // to add): every one from Stripe, and together the cumulative amount.
            #expect(refunds.allSatisfy { JSONValues.string($0["source"]) == "stripe" }, "\(refunds)")
            #expect(refunds.map { Int(JSONValues.string($0["amount"])) ?? 0 }.reduce(0, +) == 5000, "\(refunds)")

            // Unknown event types are acknowledged and ignored; a body that is not an event is 400.
            let other = try await Self.deliver(edge, Array(#"{"id":"evt_x","type":"customer.created","data":{"object":{}}}"#.utf8))
            #expect(JSONValues.string(other.json["outcome"]) == "ignored")
            let garbage = try await Self.deliver(edge, Array("not json".utf8))
            #expect(garbage.status == 400)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("payment, refund, chargeback and its reversal arriving in each of the 24 orders, with redeliveries, end in one state")
    func everyArrivalOrderEndsTheSame() async throws {
        let system = try await PixEcomSystem.start(ordersEnvironment: ["PIXECOM_STRIPE_WEBHOOK_SECRETS": Self.secret])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Orders")
            let orderings = OrderHistoryTests.permutations([0, 1, 2, 3])
            #expect(orderings.count == 24)
            var orders: [String] = []
            for (run, ordering) in orderings.enumerated() {
                let order = try await PaymentTests.newOrder(edge, seller, total: 5000)
                orders.append(order)
                let intent = "pi_run\(run)_\(order.prefix(8))"
                let events = [
                    try Self.paymentSucceeded("evt_\(run)_pay", intent: intent, amount: 5000, order: order, seller: seller.sellerID),
                    try Self.chargeRefunded(
                        "evt_\(run)_refund", charge: "ch_\(intent)", intent: intent, cumulative: 1000, order: order, seller: seller.sellerID
                    ),
                    try Self.dispute(
                        "evt_\(run)_dispute", "charge.dispute.funds_withdrawn", dispute: "dp_\(intent)", intent: intent, amount: 2000),
                    try Self.dispute(
                        "evt_\(run)_won", "charge.dispute.funds_reinstated", dispute: "dp_\(intent)", intent: intent, amount: 2000),
                ]
                for index in ordering {
                    let reply = try await Self.deliver(edge, events[index])
                    #expect(JSONValues.string(reply.json["outcome"]) == "queued", "\(reply.text)")
                }
                // At least once: Stripe may send any of them again.
                let again = try await Self.deliver(edge, events[ordering[0]])
                #expect(JSONValues.string(again.json["outcome"]) == "duplicate")
            }
            var finals: Set<String> = []
            for order in orders {
                let final = try await Self.order(edge, order, token: seller.token) {
                    ($0["events"] as? [Any])?.count == 5 && JSONValues.string($0["chargedBack"]).isEmpty
                }
                let kinds = (final["events"] as? [[String: Any]] ?? []).map { JSONValues.string($0["type"]) }.sorted()
                finals.insert(
                    [
                        JSONValues.string(final["financialStatus"]), JSONValues.string(final["captured"]),
                        JSONValues.string(final["refunded"]), JSONValues.string(final["chargedBack"]), kinds.joined(separator: ","),
                    ].joined(separator: " "))
            }
            #expect(
                finals == ["PARTIALLY_REFUNDED 5000 1000  captured,chargeback_reversed,charged_back,created,refunded"],
                "one final state for every arrival order: \(finals)")
            let outcomes = try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                let rows = try await client.query("SELECT outcome, count(*) FROM webhook_inbox GROUP BY outcome")
                var outcomes: [String: Int] = [:]
                for try await (outcome, count) in rows.decode((String, Int).self) { outcomes[outcome] = count }
                return outcomes
            }
            #expect(outcomes == ["applied": 96], "every event applied once, none waiting or lost: \(outcomes)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
