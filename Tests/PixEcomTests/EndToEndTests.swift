import Foundation
import NIOHTTP1
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit
import Testing

/// The walking skeleton end to end: four services and the edge, four databases, mutual TLS, through the edge.
@Suite("End to end through the edge", .serialized)
struct EndToEndTests {
    /// A seller's session: ids and an access token.
    struct Seller {
        let sellerID: String
        let token: String
        let email: String
        let password: String
        let loginReply: EdgeHTTPClient.Reply
    }

    static func register(_ edge: EdgeHTTPClient, name: String) async throws -> Seller {
        let email = "\(name.lowercased())-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let password = "pw-\(UUID().uuidString)"
        let registered = try await edge.send(.POST, "/v1/auth/register", json: ["sellerName": name, "email": email, "password": password])
        try #require(registered.status == 200, "register: \(registered.text)")
        let login = try await edge.send(.POST, "/v1/auth/login", json: ["email": email, "password": password])
        try #require(login.status == 200, "login: \(login.text)")
        let token = JSONValues.string(login.json["accessToken"])
        try #require(!token.isEmpty)
        #expect(JSONValues.string(login.json["sellerId"]) == JSONValues.string(registered.json["sellerId"]))
        return Seller(
            sellerID: JSONValues.string(registered.json["sellerId"]), token: token, email: email, password: password, loginReply: login)
    }

    /// A new session of `seller` (a fresh access token, carrying the seller's current plan).
    static func login(_ edge: EdgeHTTPClient, _ seller: Seller) async throws -> Seller {
        let login = try await edge.send(.POST, "/v1/auth/login", json: ["email": seller.email, "password": seller.password])
        try #require(login.status == 200, "login: \(login.text)")
        return Seller(
            sellerID: seller.sellerID, token: JSONValues.string(login.json["accessToken"]), email: seller.email, password: seller.password,
            loginReply: login)
    }

    /// Creates an object and returns its id.
    static func create(_ edge: EdgeHTTPClient, _ path: String, _ body: [String: Any], token: String) async throws -> String {
        let reply = try await edge.send(.POST, path, json: body, token: token)
        try #require(reply.status == 200, "POST \(path): \(reply.status) \(reply.text)")
        let id = JSONValues.string(reply.json["id"])
        try #require(!id.isEmpty, "POST \(path) returned no id: \(reply.text)")
        return id
    }

    /// Polls the campaign's stats until `done` holds (events travel through the outbox).
    static func waitForStats(
        _ edge: EdgeHTTPClient, campaignID: String, since: String, until: String, token: String,
        until done: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<300 {
            let reply = try await edge.send(.GET, "/v1/campaigns/\(campaignID)/stats?since=\(since)&until=\(until)", token: token)
            try #require(reply.status == 200, "stats: \(reply.text)")
            last = reply.json
            if done(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("stats never reached the expected state; last answer: \(last)")
        return last
    }

    static func days(_ stats: [String: Any]) -> [String: [String: Any]] {
        var byDay: [String: [String: Any]] = [:]
        for day in stats["days"] as? [[String: Any]] ?? [] {
            byDay[JSONValues.string(day["date"])] = day
        }
        return byDay
    }

    @Test func sellersRunCampaignsTakeOrdersAndSeeROASWithTenantsIsolated() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            try await self.walkThrough(system: system, edge: edge)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        let unclean = await system.stop()
        #expect(unclean.isEmpty, "processes that did not shut down cleanly on SIGTERM: \(unclean)")
    }

    private func walkThrough(system: PixEcomSystem, edge: EdgeHTTPClient) async throws {
        let a = try await Self.register(edge, name: "SellerA")
        let b = try await Self.register(edge, name: "SellerB")
        #expect(a.sellerID != b.sellerID)

        // The refresh token lives only in an HttpOnly cookie; it rotates, and reuse is refused.
        let cookie = try #require(a.loginReply.headers["Set-Cookie"].first)
        #expect(cookie.contains("pixecom_refresh="))
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("Secure"))
        let refreshCookie = String(cookie.split(separator: ";")[0])
        // Without the CSRF header the cookie is not enough.
        let withoutHeader = try await edge.send(.POST, "/v1/auth/refresh", headers: [("Cookie", refreshCookie)])
        #expect(withoutHeader.status == 403, "\(withoutHeader.text)")
        #expect(withoutHeader.text.contains("X-PixEcom-CSRF"))
        let crossSite = try await edge.send(
            .POST, "/v1/auth/refresh", headers: [("Cookie", refreshCookie), ("X-PixEcom-CSRF", "1"), ("Sec-Fetch-Site", "cross-site")])
        #expect(crossSite.status == 403)
        let refreshed = try await edge.send(.POST, "/v1/auth/refresh", headers: [("Cookie", refreshCookie), ("X-PixEcom-CSRF", "1")])
        #expect(refreshed.status == 200, "refresh: \(refreshed.text)")
        #expect(!JSONValues.string(refreshed.json["accessToken"]).isEmpty)
        try await Task.sleep(for: .milliseconds(3200))  // past the overlap for concurrent refreshes (3 s in tests)
        let reused = try await edge.send(.POST, "/v1/auth/refresh", headers: [("Cookie", refreshCookie), ("X-PixEcom-CSRF", "1")])
        #expect(reused.status == 401)

        // Logout ends the session of the current cookie and clears it.
        let newCookie = try #require(refreshed.headers["Set-Cookie"].first.map { String($0.split(separator: ";")[0]) })
        let loggedOut = try await edge.send(.POST, "/v1/auth/logout", headers: [("Cookie", newCookie), ("X-PixEcom-CSRF", "1")])
        #expect(loggedOut.status == 200, "\(loggedOut.text)")
        #expect(loggedOut.headers["Set-Cookie"].first?.contains("Max-Age=0") == true)
        let afterLogout = try await edge.send(.POST, "/v1/auth/refresh", headers: [("Cookie", newCookie), ("X-PixEcom-CSRF", "1")])
        #expect(afterLogout.status == 401)

        // A's objects.
        let account = try await Self.create(
            edge, "/v1/ad-accounts", ["name": "A main", "currency": "USD", "timeZone": "UTC"], token: a.token)
        let campaign = try await Self.create(
            edge, "/v1/campaigns",
            ["adAccountId": account, "name": "Winter sale", "objective": "OUTCOME_SALES", "dailyBudget": "50000", "status": "ACTIVE"],
            token: a.token)
        let adSet = try await Self.create(
            edge, "/v1/ad-sets",
            [
                "campaignId": campaign, "name": "US 25-45", "targeting": ["countries": ["US"], "ageMin": 25, "ageMax": 45],
                "status": "ACTIVE",
            ], token: a.token)
        let ad = try await Self.create(
            edge, "/v1/ads",
            ["adSetId": adSet, "name": "Red scarf", "linkUrl": "https://shop.example.com/p/red-scarf", "status": "ACTIVE"], token: a.token)

        // Orders attributed to the ad: paid, and one later partly refunded.
        func order(_ items: [(Int, Int)]) -> [String: Any] {
            [
                "currency": "USD",
                "lineItems": items.enumerated().map { index, item in
                    ["sku": "SKU-\(index)", "title": "Item \(index)", "quantity": item.0, "unitPrice": "\(item.1)"] as [String: Any]
                },
                "utm": ["source": "facebook", "medium": "paid", "campaign": campaign, "content": ad],
            ]
        }
        let orderBodies = [order([(2, 2500)]), order([(1, 12000)]), order([(3, 1000)])]
        var orderIDs: [String] = []
        var paidDays: [String] = []
        for body in orderBodies {
            let id = try await Self.create(edge, "/v1/orders", body, token: a.token)
            let paid = try await edge.send(.POST, "/v1/orders/\(id)/pay", token: a.token)
            try #require(paid.status == 200, "pay: \(paid.text)")
            #expect(JSONValues.string(paid.json["financialStatus"]) == "PAID")
            orderIDs.append(id)
            paidDays.append(JSONValues.utcDay(ofTimestamp: JSONValues.string(paid.json["paidTime"])))
        }
        let refund = try await edge.send(.POST, "/v1/orders/\(orderIDs[2])/refund", json: ["amount": "1000"], token: a.token)
        try #require(refund.status == 200, "refund: \(refund.text)")
        #expect(JSONValues.string(refund.json["financialStatus"]) == "PARTIALLY_REFUNDED")
        let overRefund = try await edge.send(.POST, "/v1/orders/\(orderIDs[2])/refund", json: ["amount": "999999"], token: a.token)
        #expect(overRefund.status == 400, "refunding more than was paid: \(overRefund.text)")

        // Three days of insights ending on the (first) pay day.
        let payDay = paidDays.min()!
        let lastDay = paidDays.max()!
        let insightDays = [JSONValues.day(payDay, plus: -2), JSONValues.day(payDay, plus: -1), payDay]
        let insight: [(spend: Int64, impressions: Int64, clicks: Int64)] = [(10000, 20000, 400), (8000, 16000, 320), (6000, 10000, 250)]
        let rows: [[String: Any]] = zip(insightDays, insight).map { day, row in
            [
                "date": day, "adId": ad, "spend": "\(row.spend)", "currency": "USD", "impressions": "\(row.impressions)",
                "clicks": "\(row.clicks)",
            ]
        }
        let ingested = try await edge.send(.POST, "/v1/insights", json: ["rows": rows], token: a.token)
        try #require(ingested.status == 200, "ingest: \(ingested.text)")
        // Replaying the same rows changes nothing.
        let replayed = try await edge.send(.POST, "/v1/insights", json: ["rows": rows], token: a.token)
        #expect(replayed.status == 200)

        // Expected revenue per day from the paid days of the orders.
        let totals: [Int64] = [5000, 12000, 3000]
        var expectedRevenue: [String: Int64] = [:]
        var expectedOrders: [String: Int64] = [:]
        for (day, total) in zip(paidDays, totals) {
            expectedRevenue[day, default: 0] += total
            expectedOrders[day, default: 0] += 1
        }
        let expectedRefunds: [String: Int64] = [paidDays[2]: 1000]
        let since = JSONValues.day(payDay, plus: -3)  // a day with no data at all
        let stats = try await Self.waitForStats(edge, campaignID: campaign, since: since, until: lastDay, token: a.token) { stats in
            let days = Self.days(stats)
            return expectedRevenue.allSatisfy { JSONValues.int64(days[$0.key]?["revenue"]) == $0.value }
                && expectedRefunds.allSatisfy { JSONValues.int64(days[$0.key]?["refunds"]) == $0.value }
        }
        let days = Self.days(stats)
        #expect(JSONValues.string(stats["currency"]) == "USD")
        for (day, row) in zip(insightDays, insight) {
            let answer = try #require(days[day], "no stats for \(day): \(stats)")
            let revenue = expectedRevenue[day] ?? 0
            let refunds = expectedRefunds[day] ?? 0
            #expect(JSONValues.int64(answer["spend"]) == row.spend, "spend on \(day)")
            #expect(JSONValues.int64(answer["impressions"]) == row.impressions)
            #expect(JSONValues.int64(answer["clicks"]) == row.clicks)
            #expect(JSONValues.int64(answer["orders"]) == expectedOrders[day] ?? 0, "orders on \(day)")
            #expect(JSONValues.int64(answer["revenue"]) == revenue, "revenue on \(day)")
            #expect(JSONValues.int64(answer["refunds"]) == refunds, "refunds on \(day)")
            #expect(JSONValues.int64(answer["netRevenue"]) == revenue - refunds)
            let roas = try #require(JSONValues.double(answer["roas"]), "roas on \(day) must be present: spend is not zero")
            #expect(abs(roas - Double(revenue - refunds) / Double(row.spend)) < 1e-9, "roas on \(day)")
            #expect(abs((JSONValues.double(answer["cpm"]) ?? -1) - Double(row.spend) * 1000 / Double(row.impressions)) < 1e-9)
            #expect(abs((JSONValues.double(answer["ctr"]) ?? -1) - Double(row.clicks) / Double(row.impressions)) < 1e-9)
            #expect(abs((JSONValues.double(answer["cpc"]) ?? -1) - Double(row.spend) / Double(row.clicks)) < 1e-9)
        }
        let empty = try #require(days[since])
        #expect(
            JSONValues.double(empty["roas"]) == nil && JSONValues.double(empty["cpm"]) == nil,
            "ratios of a zero denominator are absent: \(empty)")
        let total = stats["total"] as? [String: Any] ?? [:]
        #expect(JSONValues.int64(total["spend"]) == 24000)
        #expect(JSONValues.int64(total["revenue"]) == 20000)
        #expect(abs((JSONValues.double(total["roas"]) ?? -1) - 19000.0 / 24000.0) < 1e-9, "total roas from the sums")

        // The caller's request id travels edge -> stats -> campaign, and names every log line.
        let requestID = "e2e-\(UUID().uuidString.prefix(8).lowercased())"
        let traced = try await edge.send(
            .GET, "/v1/campaigns/\(campaign)/stats?since=\(payDay)&until=\(payDay)", token: a.token, headers: [("X-Request-Id", requestID)])
        #expect(traced.status == 200)
        #expect(traced.headers["X-Request-Id"].first == requestID)
        for member in [system.stats, system.campaign] {
            let lines = member.logTail(lines: 1000).split(separator: "\n").filter { $0.contains(requestID) }
            #expect(
                lines.contains { $0.contains("\"request.id\":\"\(requestID)\"") },
                "\(member.name) logged no line with request id \(requestID)")
        }

        // Seller B sees none of A's objects: 404 for each, exactly like a missing object.
        let foreign: [(HTTPMethodName, String, [String: Any]?)] = [
            (.GET, "/v1/ad-accounts/\(account)", nil),
            (.GET, "/v1/campaigns/\(campaign)", nil),
            (.GET, "/v1/ad-sets/\(adSet)", nil),
            (.GET, "/v1/ads/\(ad)", nil),
            (.GET, "/v1/orders/\(orderIDs[0])", nil),
            (.GET, "/v1/campaigns/\(campaign)/stats?since=\(payDay)&until=\(payDay)", nil),
            (.PATCH, "/v1/campaigns/\(campaign)", ["status": "PAUSED"]),
            (.PATCH, "/v1/ad-sets/\(adSet)", ["status": "PAUSED"]),
            (.PATCH, "/v1/ads/\(ad)", ["status": "PAUSED"]),
            (.POST, "/v1/orders/\(orderIDs[0])/pay", nil),
            (.POST, "/v1/orders/\(orderIDs[0])/refund", ["amount": "1"]),
            (.POST, "/v1/campaigns", ["adAccountId": account, "name": "x", "objective": "OUTCOME_SALES", "dailyBudget": "100"]),
            (.POST, "/v1/ad-sets", ["campaignId": campaign, "name": "x", "targeting": ["countries": ["US"]]]),
            (.POST, "/v1/ads", ["adSetId": adSet, "name": "x", "linkUrl": "https://x.example.com"]),
            (.POST, "/v1/insights", ["rows": [["date": payDay, "adId": ad, "spend": "1", "currency": "USD"]]]),
        ]
        for (method, path, body) in foreign {
            let reply = try await edge.send(method.nio, path, json: body, token: b.token)
            #expect(reply.status == 404, "B \(method) \(path) answered \(reply.status): \(reply.text)")
            #expect(reply.errorCode == "NOT_FOUND")
        }
        for path in ["/v1/ad-accounts", "/v1/campaigns", "/v1/ad-sets", "/v1/ads", "/v1/orders"] {
            let list = try await edge.send(.GET, path, token: b.token)
            #expect(list.status == 200)
            #expect(
                !list.text.contains(account) && !list.text.contains(campaign) && !list.text.contains(orderIDs[0]),
                "B's list \(path) leaks A's data")
        }
        // A's own objects still answer A, unchanged by B's attempts to pause them.
        for path in ["/v1/campaigns/\(campaign)", "/v1/ad-sets/\(adSet)", "/v1/ads/\(ad)"] {
            let mine = try await edge.send(.GET, path, token: a.token)
            #expect(mine.status == 200)
            #expect(JSONValues.string(mine.json["status"]) == "ACTIVE", "\(path) after B's PATCH: \(mine.text)")
        }

        // A's token with its seller id edited to B's is rejected.
        let forged = try Self.forge(token: a.token, sellerID: b.sellerID)
        let forgedReply = try await edge.send(.GET, "/v1/campaigns/\(campaign)", token: forged)
        #expect(forgedReply.status == 401, "forged token answered \(forgedReply.status): \(forgedReply.text)")
        let noToken = try await edge.send(.GET, "/v1/campaigns/\(campaign)")
        #expect(noToken.status == 401)

        // The same outbox event delivered twice changes no totals.
        try await self.deliverTwice(system: system, edge: edge, seller: a, campaign: campaign, ad: ad, day: insightDays[1])

        // Bad input gets a clear error naming the field.
        let bad = try await edge.send(
            .POST, "/v1/campaigns", json: ["adAccountId": account, "name": "x", "objective": "OUTCOME_SALES", "dailyBudget": "-5"],
            token: a.token)
        #expect(bad.status == 400)
        #expect(bad.text.contains("daily_budget") || bad.text.contains("dailyBudget"), "the error names the field: \(bad.text)")
        #expect(bad.json["error"].flatMap { ($0 as? [String: Any])?["requestId"] as? String } != nil, "errors carry the request id")
    }

    /// Replays one revenue event to StatsService as OrderService would (its mTLS identity).
    private func deliverTwice(system: PixEcomSystem, edge: EdgeHTTPClient, seller: Seller, campaign: String, ad: String, day: String)
        async throws
    {
        let client = RPCClient(
            configuration: RPCClientConfiguration(
                endpoints: [Endpoint(host: "127.0.0.1", port: system.stats.rpcPort)], serverService: "stats"),
            tls: try RPCTLS.clientContext(system.certificates.files(for: "orders"))
        )
        var event = Pixecom_Stats_V1_OrderEvent()
        event.eventID = UUID().uuidString.lowercased()
        event.sellerID = seller.sellerID
        event.orderID = UUID().uuidString.lowercased()
        event.kind = .paid
        event.amount = 7000
        event.currency = "USD"
        event.campaignID = campaign
        event.adID = ad
        event.attributedDate = day
        let first = try await client.unary(StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
        let second = try await client.unary(StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
        #expect(first.applied)
        #expect(!second.applied)
        // Only OrderService may call it: the edge's identity is refused.
        let edgeClient = RPCClient(
            configuration: RPCClientConfiguration(
                endpoints: [Endpoint(host: "127.0.0.1", port: system.stats.rpcPort)], serverService: "stats"),
            tls: try RPCTLS.clientContext(system.certificates.files(for: "edge"))
        )
        let refused = await #expect(throws: RPCError.self) {
            _ = try await edgeClient.unary(StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
        }
        #expect(refused?.code == .permissionDenied)
        await client.close()
        await edgeClient.close()

        // Aggregates follow the facts through the job queue: wait for the bucket, then check it.
        let stats = try await Self.waitForStats(edge, campaignID: campaign, since: day, until: day, token: seller.token) { stats in
            JSONValues.int64(Self.days(stats)[day]?["orders"]) > 0
        }
        let answer = Self.days(stats)[day] ?? [:]
        #expect(JSONValues.int64(answer["revenue"]) == 7000, "one delivery counted once: \(answer)")
        #expect(JSONValues.int64(answer["orders"]) == 1)
    }

    /// Rewrites the `sid` claim of a token, keeping its header and signature.
    static func forge(token: String, sellerID: String) throws -> String {
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let payload = try #require(Data(base64Encoded: base64))
        var claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        claims["sid"] = sellerID
        let edited = try JSONSerialization.data(withJSONObject: claims)
        let encoded = edited.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return [parts[0], encoded, parts[2]].joined(separator: ".")
    }
}

enum HTTPMethodName: String {
    case GET, POST, PATCH
    var nio: NIOHTTP1.HTTPMethod {
        switch self {
        case .GET: .GET
        case .POST: .POST
        case .PATCH: .PATCH
        }
    }
}
