import Foundation
import Testing

/// Money through the edge: currencies are active ISO 4217 codes, and a campaign's sums are only
/// ever in its ad account's currency.
@Suite("Currencies through the edge", .serialized)
struct CurrencyTests {
    /// The field names of an error answer's details.
    static func fields(_ reply: EdgeHTTPClient.Reply) -> [String] {
        let error = reply.json["error"] as? [String: Any] ?? [:]
        return (error["details"] as? [[String: Any]] ?? []).map { JSONValues.string($0["field"]) }
    }

    /// A USD ad account with a campaign, an ad set and an ad: (campaign id, ad id).
    static func usdAd(_ edge: EdgeHTTPClient, token: String) async throws -> (campaign: String, ad: String) {
        let account = try await EndToEndTests.create(
            edge, "/v1/ad-accounts", ["name": "US", "currency": "USD", "timeZone": "UTC"], token: token)
        let campaign = try await EndToEndTests.create(
            edge, "/v1/campaigns", ["adAccountId": account, "name": "C", "objective": "OUTCOME_SALES", "dailyBudget": "5000"], token: token)
        let adSet = try await EndToEndTests.create(
            edge, "/v1/ad-sets", ["campaignId": campaign, "name": "S", "targeting": ["countries": ["US"]]], token: token)
        let ad = try await EndToEndTests.create(
            edge, "/v1/ads", ["adSetId": adSet, "name": "A", "linkUrl": "https://shop.example.com/p/1"], token: token)
        return (campaign, ad)
    }

    static func order(currency: String, unitPrice: Int64, campaign: String, ad: String) -> [String: Any] {
        [
            "currency": currency,
            "lineItems": [["sku": "S", "title": "T", "quantity": 1, "unitPrice": "\(unitPrice)"]],
            "utm": ["source": "facebook", "campaign": campaign, "content": ad],
        ]
    }

    @Test("QQQ, XYZ and lower-case codes are refused for ad accounts, orders and insights, naming the field")
    func codesOutsideISO4217AreRefused() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Money")
            for code in ["QQQ", "XYZ", "usd", "XAU"] {
                let account = try await edge.send(
                    .POST, "/v1/ad-accounts", json: ["name": "Bad", "currency": code, "timeZone": "UTC"], token: seller.token)
                #expect(account.status == 400, "ad account in \(code): \(account.text)")
                #expect(Self.fields(account) == ["currency"], "\(account.text)")
            }
            let (campaign, ad) = try await Self.usdAd(edge, token: seller.token)
            for code in ["QQQ", "XYZ", "eur"] {
                let order = try await edge.send(
                    .POST, "/v1/orders", json: Self.order(currency: code, unitPrice: 100, campaign: campaign, ad: ad), token: seller.token)
                #expect(order.status == 400, "order in \(code): \(order.text)")
                #expect(Self.fields(order) == ["currency"], "\(order.text)")
                let insights = try await edge.send(
                    .POST, "/v1/insights",
                    json: [
                        "rows": [["date": "2026-11-01", "adId": ad, "spend": "100", "currency": code, "impressions": "10", "clicks": "1"]]
                    ],
                    token: seller.token)
                #expect(insights.status == 400, "insights in \(code): \(insights.text)")
                #expect(Self.fields(insights) == ["rows[0].currency"], "\(insights.text)")
            }
            let listed = try await edge.send(.GET, "/v1/ad-accounts", token: seller.token)
            #expect((listed.json["adAccounts"] as? [Any])?.count == 1, "only the USD account exists: \(listed.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("insights in another currency than the ad account's are refused; such orders are reported unattributed, never summed")
    func moneyInAnotherCurrencyStaysOutOfTheCampaign() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Money")
            let (campaign, ad) = try await Self.usdAd(edge, token: seller.token)

            // A USD row and an EUR row for the USD ad: the batch is refused whole, naming the EUR row.
            let mixed = try await edge.send(
                .POST, "/v1/insights",
                json: [
                    "rows": [
                        ["date": "2026-11-01", "adId": ad, "spend": "700", "currency": "USD", "impressions": "100", "clicks": "5"],
                        ["date": "2026-11-02", "adId": ad, "spend": "900", "currency": "EUR", "impressions": "100", "clicks": "5"],
                    ]
                ],
                token: seller.token)
            #expect(mixed.status == 400, "EUR insights for a USD ad: \(mixed.text)")
            #expect(Self.fields(mixed) == ["rows[1].currency"], "\(mixed.text)")
            #expect(mixed.text.contains("USD"), "the error says which currency is expected: \(mixed.text)")

            // Orders naming the USD campaign: one in USD, one in EUR, one in JPY, all paid.
            var paidDays: [String] = []
            for (currency, price) in [("USD", Int64(4500)), ("EUR", 3000), ("JPY", 2000)] {
                let id = try await EndToEndTests.create(
                    edge, "/v1/orders", Self.order(currency: currency, unitPrice: price, campaign: campaign, ad: ad), token: seller.token)
                let paid = try await edge.send(.POST, "/v1/orders/\(id)/pay", token: seller.token)
                try #require(paid.status == 200, "pay: \(paid.text)")
                paidDays.append(JSONValues.utcDay(ofTimestamp: JSONValues.string(paid.json["paidTime"])))
            }
            let since = JSONValues.day(paidDays.min()!, plus: -1)
            let until = paidDays.max()!
            let insights = try await edge.send(
                .POST, "/v1/insights",
                json: ["rows": [["date": since, "adId": ad, "spend": "1500", "currency": "USD", "impressions": "100", "clicks": "5"]]],
                token: seller.token)
            #expect(insights.status == 200, "USD insights for the USD ad: \(insights.text)")

            let stats = try await EndToEndTests.waitForStats(edge, campaignID: campaign, since: since, until: until, token: seller.token) {
                ($0["unattributedRevenue"] as? [Any])?.count == 2 && JSONValues.int64(($0["total"] as? [String: Any])?["revenue"]) == 4500
            }
            #expect(JSONValues.string(stats["currency"]) == "USD")
            let total = stats["total"] as? [String: Any] ?? [:]
            #expect(JSONValues.int64(total["revenue"]) == 4500, "only the USD order counts: \(stats)")
            #expect(JSONValues.int64(total["orders"]) == 1)
            #expect(JSONValues.int64(total["spend"]) == 1500)
            #expect(abs((JSONValues.double(total["roas"]) ?? -1) - 3.0) < 1e-9, "ROAS from USD money only: \(stats)")
            let unattributed = (stats["unattributedRevenue"] as? [[String: Any]] ?? []).map {
                (
                    JSONValues.string($0["currency"]), JSONValues.string($0["reason"]), JSONValues.int64($0["orders"]),
                    JSONValues.int64($0["revenue"])
                )
            }
            #expect(unattributed.map(\.0) == ["EUR", "JPY"], "\(stats)")
            #expect(unattributed.map(\.1) == ["CURRENCY_MISMATCH", "CURRENCY_MISMATCH"])
            #expect(unattributed.map(\.2) == [1, 1])
            #expect(unattributed.map(\.3) == [3000, 2000])
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
