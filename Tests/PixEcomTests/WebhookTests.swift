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

    static func event(id: String, type: String, order: String, seller: String, amountRefunded: Int64? = nil) throws -> [UInt8] {
        var object: [String: Any] = [
            "object": type.hasPrefix("charge") ? "charge" : "payment_intent",
            "metadata": ["pixecom_order_id": order, "pixecom_seller_id": seller],
        ]
        if let amountRefunded { object["amount_refunded"] = amountRefunded }
        let event: [String: Any] = ["id": id, "object": "event", "type": type, "created": 1_790_000_000, "data": ["object": object]]
        return Array(try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]))
    }

    @Test(
        "through the edge: a signed payment marks the order paid once, refunds follow the cumulative amount, bad signatures change nothing")
    func deliveries() async throws {
        let system = try await PixEcomSystem.start(ordersEnvironment: ["PIXECOM_STRIPE_WEBHOOK_SECRETS": Self.secret])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Hooks")
            let order = try await EndToEndTests.create(
                edge, "/v1/orders", ["currency": "USD", "lineItems": [["sku": "S", "title": "T", "quantity": 2, "unitPrice": "2500"]]],
                token: seller.token)
            func deliver(_ body: [UInt8], secret: String = Self.secret, age: TimeInterval = 0) async throws -> EdgeHTTPClient.Reply {
                let timestamp = Int64(Date().timeIntervalSince1970 - age)
                let header = StripeSignature.header(for: body, secret: secret, timestamp: timestamp)
                return try await edge.sendRaw(
                    .POST, "/v1/webhooks/stripe", body: Data(body),
                    headers: [("Stripe-Signature", header), ("Content-Type", "application/json")])
            }
            func status() async throws -> String {
                JSONValues.string(try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token).json["financialStatus"])
            }

            let paid = try Self.event(id: "evt_pay_\(order)", type: "payment_intent.succeeded", order: order, seller: seller.sellerID)
            let forged = try await deliver(paid, secret: "whsec_attacker")
            #expect(forged.status == 401, "\(forged.text)")
            let replayedLater = try await deliver(paid, age: 600)
            #expect(replayedLater.status == 401)
            #expect(try await status() == "PENDING", "refused deliveries change nothing")

            let first = try await deliver(paid)
            #expect(first.status == 200, "\(first.text)")
            #expect(JSONValues.string(first.json["outcome"]) == "applied")
            let again = try await deliver(paid)
            #expect(JSONValues.string(again.json["outcome"]) == "duplicate")
            #expect(try await status() == "PAID")

            // Refunds carry the charge's cumulative amount_refunded: 1000, then 1000 again (a
            // redelivery under a new event id), then 5000 in all.
            let partial = try await deliver(
                try Self.event(id: "evt_r1_\(order)", type: "charge.refunded", order: order, seller: seller.sellerID, amountRefunded: 1000))
            #expect(JSONValues.string(partial.json["outcome"]) == "applied")
            let same = try await deliver(
                try Self.event(id: "evt_r2_\(order)", type: "charge.refunded", order: order, seller: seller.sellerID, amountRefunded: 1000))
            #expect(JSONValues.string(same.json["outcome"]) == "ignored")
            let full = try await deliver(
                try Self.event(id: "evt_r3_\(order)", type: "charge.refunded", order: order, seller: seller.sellerID, amountRefunded: 5000))
            #expect(JSONValues.string(full.json["outcome"]) == "applied")
            let final = try await edge.send(.GET, "/v1/orders/\(order)", token: seller.token)
            #expect(JSONValues.string(final.json["financialStatus"]) == "REFUNDED")
            #expect(JSONValues.string(final.json["refunded"]) == "5000")

            // Unknown event types are acknowledged and ignored; a body that is not an event is 400.
            let other = try await deliver(Array(#"{"id":"evt_x","type":"customer.created","data":{"object":{}}}"#.utf8))
            #expect(JSONValues.string(other.json["outcome"]) == "ignored")
            let garbage = try await deliver(Array("not json".utf8))
            #expect(garbage.status == 400)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
