import Foundation
import PixEcomProtos
import PostgresNIO
import RPCKit
import Testing

@testable import OrderService

/// Sell pages and the public checkout through the edge: prices from the page only, totals in
/// minor units, attribution normalised, one order per Idempotency-Key.
@Suite("Sell pages and checkout")
struct StorefrontTests {
    @Test("pricing: subtotal, discount rounded down, tax half up, shipping; every bad field named")
    func pricing() throws {
        let page = SellPageRecord(
            id: UUID(), slug: "lamp", title: "Lamp", currency: "USD", status: .published, shippingFee: 499, taxRateBps: 825,
            publicKey: "pk_" + String(repeating: "a", count: 24), createdAt: Date(), updatedAt: Date(),
            variants: [.init(sku: "L-RED", title: "Red lamp", price: 2999), .init(sku: "L-BLUE", title: "Blue lamp", price: 3499)],
            discounts: [.init(code: "TEN", kind: .percent, value: 10), .init(code: "FIVER", kind: .fixedAmount, value: 500)])
        var request = Pixecom_Orders_V1_CheckoutRequest()
        request.items = [
            .with { ($0.sku, $0.quantity) = ("L-RED", 2) }, .with { ($0.sku, $0.quantity, $0.unitPrice) = ("L-BLUE", 1, 3499) },
        ]
        request.discountCode = "ten"
        request.customer = .with { ($0.email, $0.phone) = ("Buyer@Example.com", "+14155550100") }
        request.shippingAddress = .with {
            ($0.name, $0.line1, $0.city, $0.postalCode, $0.country) = ("Ann Buyer", "1 Main St", "Springfield", "12345", "us")
        }
        request.attribution = .with {
            $0.landingURL =
                "https://shop.example.com/p/lamp?utm_source=Facebook&utm_medium=PAID&utm_campaign=120001&utm_content=120003&fbclid=IwAR1x"
            $0.utmTerm = "{{adset.name}}"
        }
        let now = Date(timeIntervalSince1970: 1_790_000_000.5)
        let priced = try CheckoutPricing.price(request, page: page, now: now)
        #expect(priced.subtotal == 2 * 2999 + 3499)  // 9497
        #expect(priced.discount == 949)  // 10 %, rounded down
        #expect(priced.tax == 705)  // 8.25 % of 8548 = 705.21
        #expect(priced.shipping == 499)
        #expect(priced.total == 9497 - 949 + 499 + 705)
        #expect(priced.lineItems.map(\.unitPrice) == [2999, 3499])
        #expect(priced.customer.email == "buyer@example.com" && priced.address.country == "US")
        let utm = priced.attribution.utm
        #expect((utm.source, utm.medium, utm.campaign, utm.content, utm.term) == ("facebook", "paid", "120001", "120003", ""))
        #expect(priced.attribution.fbc == "fb.1.1790000000500.IwAR1x")

        // The buyer cannot set a price, name a variant the page lacks, or pass bad contact data.
        var tampered = request
        tampered.items[1].unitPrice = 1
        tampered.items.append(.with { ($0.sku, $0.quantity) = ("L-GOLD", 1) })
        tampered.discountCode = "FREE"
        tampered.customer.email = "not-an-address"
        tampered.shippingAddress.country = "XX"
        tampered.attribution.fbc = "cookie"
        do {
            _ = try CheckoutPricing.price(tampered, page: page, now: now)
            Issue.record("a tampered checkout was priced")
        } catch let error as RPCError {
            #expect(
                Set(error.fieldViolations.map(\.field)) == [
                    "items[1].unit_price", "items[2].sku", "discount_code", "customer.email", "shipping_address.country", "attribution.fbc",
                ], "\(error)")
        }
    }

    @Test("through the edge: a published page's public key takes checkouts without a token; replays answer the same order")
    func checkoutThroughTheEdge() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Storefront")
            let created = try await edge.send(
                .POST, "/v1/sell-pages",
                json: [
                    "slug": "desk-lamp", "title": "Desk lamp", "currency": "USD", "shippingFee": "500", "taxRateBps": 1000,
                    "variants": [["sku": "LAMP-1", "title": "Lamp", "price": "2500"], ["sku": "BULB", "title": "Bulb", "price": "300"]],
                    "discounts": [["code": "save5", "kind": "FIXED_AMOUNT", "value": "500"]],
                ], token: seller.token)
            #expect(created.status == 200, "\(created.text)")
            let page = JSONValues.string(created.json["id"])
            let key = JSONValues.string(created.json["publicKey"])
            #expect(JSONValues.string(created.json["status"]) == "DRAFT")
            #expect(key.hasPrefix("pk_") && key.count == 27)
            let duplicate = try await edge.send(
                .POST, "/v1/sell-pages",
                json: ["slug": "desk-lamp", "title": "Again", "currency": "USD", "variants": [["sku": "X", "title": "X", "price": "1"]]],
                token: seller.token)
            #expect(duplicate.status == 409, "a seller's slugs are unique: \(duplicate.text)")

            let body: [String: Any] = [
                "items": [["sku": "LAMP-1", "quantity": 2, "unitPrice": "2500"], ["sku": "BULB", "quantity": 1]],
                "discountCode": "SAVE5",
                "customer": ["email": "ann@example.com", "name": "Ann"],
                "shippingAddress": ["name": "Ann", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"],
                "attribution": [
                    "landingUrl": "https://shop.example.com/desk-lamp?utm_source=FB&utm_campaign=c1&utm_content=ad9&fbclid=abc"
                ],
            ]
            func checkout(_ body: [String: Any], key idempotencyKey: String?, publicKey: String = key) async throws -> EdgeHTTPClient.Reply
            {
                try await edge.send(
                    .POST, "/v1/storefront/\(publicKey)/checkout", json: body,
                    headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
            }
            let draft = try await checkout(body, key: "k-draft")
            #expect(draft.status == 422, "a draft page takes no checkout: \(draft.text)")
            let published = try await edge.send(.PATCH, "/v1/sell-pages/\(page)", json: ["status": "PUBLISHED"], token: seller.token)
            #expect(JSONValues.string(published.json["status"]) == "PUBLISHED", "\(published.text)")

            let noKey = try await checkout(body, key: nil)
            #expect(noKey.status == 400 && PaymentTests.field(noKey) == "idempotency-key", "\(noKey.text)")
            let unknownPage = try await checkout(body, key: "k-1", publicKey: "pk_" + String(repeating: "z", count: 24))
            #expect(unknownPage.status == 404, "\(unknownPage.text)")
            var tampered = body
            tampered["items"] = [["sku": "LAMP-1", "quantity": 2, "unitPrice": "1"]]
            let cheap = try await checkout(tampered, key: "k-tampered")
            #expect(cheap.status == 400 && PaymentTests.field(cheap) == "items[0].unit_price", "\(cheap.text)")
            var unknown = body
            unknown["items"] = [["sku": "LAMP-9", "quantity": 1]]
            let missing = try await checkout(unknown, key: "k-unknown")
            #expect(missing.status == 400 && PaymentTests.field(missing) == "items[0].sku", "\(missing.text)")

            let first = try await checkout(body, key: "k-1")
            #expect(first.status == 200, "\(first.text)")
            #expect(JSONValues.string(first.json["subtotal"]) == "5300")
            #expect(JSONValues.string(first.json["discount"]) == "500")
            #expect(JSONValues.string(first.json["tax"]) == "480")
            #expect(JSONValues.string(first.json["shipping"]) == "500")
            #expect(JSONValues.string(first.json["total"]) == "5780")
            let again = try await checkout(body, key: "k-1")
            #expect(again.text == first.text, "a retry answers the first order")
            var other = body
            other["discountCode"] = ""
            let reused = try await checkout(other, key: "k-1")
            #expect(reused.status == 422, "\(reused.text)")
            // A price change after the first checkout does not change its replay.
            _ = try await edge.send(
                .PATCH, "/v1/sell-pages/\(page)",
                json: ["replaceVariants": true, "variants": [["sku": "LAMP-1", "title": "Lamp", "price": "9900"]]], token: seller.token)
            #expect(try await checkout(body, key: "k-1").text == first.text)

            let orderID = JSONValues.string(first.json["orderId"])
            let order = try await edge.send(.GET, "/v1/orders/\(orderID)", token: seller.token).json
            #expect(JSONValues.string(order["sellPageId"]) == page)
            #expect(JSONValues.string(order["total"]) == "5780" && JSONValues.string(order["financialStatus"]) == "PENDING")
            let utm = order["utm"] as? [String: Any] ?? [:]
            #expect(JSONValues.string(utm["source"]) == "fb" && JSONValues.string(utm["content"]) == "ad9")
            #expect(JSONValues.string(order["fbclid"]) == "abc" && JSONValues.string(order["fbc"]).hasSuffix(".abc"))
            #expect(JSONValues.string((order["shippingAddress"] as? [String: Any])?["city"]) == "Springfield")
            let orders = try await edge.send(.GET, "/v1/orders", token: seller.token).json["orders"] as? [Any]
            #expect(orders?.count == 1, "one order for every retry and refusal")

            // Paid, the order's money goes to StatsService with its sell page.
            #expect(try await edge.send(.POST, "/v1/orders/\(orderID)/pay", json: [:], token: seller.token).status == 200)
            let payload = try await TestDatabases.withClient(system.databases["orders"]!.admin) { client in
                let rows = try await client.query("SELECT payload FROM outbox WHERE topic = 'order.paid'")
                var payloads: [Data] = []
                for try await payload in rows.decode(Data.self) { payloads.append(payload) }
                return payloads
            }
            let event = try Pixecom_Stats_V1_OrderEvent(serializedBytes: try #require(payload.first))
            #expect(event.sellPageID == page && event.amount == 5780 && event.adID == "ad9")

            let pages = try await edge.send(.GET, "/v1/sell-pages", token: seller.token).json["sellPages"] as? [[String: Any]]
            #expect(pages?.map { JSONValues.string($0["slug"]) } == ["desk-lamp"])
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
