import Foundation
import NIOHTTP1
import PixEcomProtos
import RPCKit
import ServiceKit
import Testing

/// StatsService in the whole system: an ad account in Los Angeles, whose days are its local days
/// for spend and revenue alike; purchases counted once; refunds and chargebacks on the sale's day;
/// CampaignService's placements scoped to the seller StatsService names.
@Suite("Stats through the system", .serialized)
struct StatsEndToEndTests {
    /// A client of `service` with `identity`'s certificate, as another service calls it.
    static func client(_ system: PixEcomSystem, _ service: String, port: Int, as identity: String) throws -> RPCClient {
        RPCClient(
            configuration: RPCClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: port)], serverService: service),
            tls: try RPCTLS.clientContext(system.certificates.files(for: identity))
        )
    }

    static func event(
        _ seller: EndToEndTests.Seller, order: String, _ kind: Pixecom_Stats_V1_OrderEventKind, _ amount: Int64, campaign: String,
        ad: String,
        saleAt: String, occurredAt: String
    ) -> Pixecom_Stats_V1_OrderEvent {
        Pixecom_Stats_V1_OrderEvent.with {
            $0.eventID = UUID().uuidString.lowercased()
            $0.sellerID = seller.sellerID
            $0.orderID = order
            $0.kind = kind
            $0.amount = amount
            $0.currency = "USD"
            $0.campaignID = campaign
            $0.adID = ad.uppercased()  // UTM values arrive in any case
            $0.saleAt = saleAt
            $0.occurredAt = occurredAt
        }
    }

    @Test(
        "an order paid at 23:30 in Los Angeles counts on that local day with its spend; its refund and chargeback days later count on the sale's day; purchases count once"
    )
    func losAngelesDays() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        let orders = try Self.client(system, "stats", port: system.stats.rpcPort, as: "orders")
        let statsIdentity = try Self.client(system, "campaign", port: system.campaign.rpcPort, as: "stats")
        do {
            let a = try await EndToEndTests.register(edge, name: "Pacific")
            let b = try await EndToEndTests.register(edge, name: "Other")
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "LA", "currency": "USD", "timeZone": "America/Los_Angeles"], token: a.token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns",
                ["adAccountId": account, "name": "Night owls", "objective": "OUTCOME_SALES", "dailyBudget": "50000", "status": "ACTIVE"],
                token: a.token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "West", "targeting": ["countries": ["US"]], "status": "ACTIVE"],
                token: a.token)
            let ad = try await EndToEndTests.create(
                edge, "/v1/ads", ["adSetId": adSet, "name": "Lamp", "linkUrl": "https://shop.example.com/lamp", "status": "ACTIVE"],
                token: a.token)

            // CampaignService describes A's ad to StatsService for A, and nothing of it for B.
            let describe = { (seller: String) in
                Pixecom_Campaign_V1_DescribePlacementsRequest.with {
                    $0.sellerID = seller
                    $0.adIds = [ad]
                    $0.campaignIds = [campaign]
                }
            }
            let forA = try await statsIdentity.unary(
                CampaignMethods.describePlacements, describe(a.sellerID), as: Pixecom_Campaign_V1_DescribePlacementsResponse.self)
            #expect(forA.ads.map(\.adID) == [ad] && forA.ads.first?.campaignID == campaign && forA.ads.first?.adSetID == adSet)
            #expect(forA.ads.first?.timeZone == "America/Los_Angeles" && forA.campaigns.first?.currency == "USD")
            let forB = try await statsIdentity.unary(
                CampaignMethods.describePlacements, describe(b.sellerID), as: Pixecom_Campaign_V1_DescribePlacementsResponse.self)
            #expect(forB.ads.isEmpty && forB.campaigns.isEmpty, "another seller's ids are absent: \(forB)")
            let badID = await #expect(throws: RPCError.self) {
                _ = try await statsIdentity.unary(
                    CampaignMethods.describePlacements,
                    Pixecom_Campaign_V1_DescribePlacementsRequest.with {
                        $0.sellerID = a.sellerID
                        $0.adIds = [ad, "lamp"]
                    }, as: Pixecom_Campaign_V1_DescribePlacementsResponse.self)
            }
            #expect(badID?.code == .invalidArgument && badID?.message.contains("ad_ids[1]") == true, "\(String(describing: badID))")

            // Spend on the local day 2026-03-09, with purchases under Meta's three overlapping types.
            let actions: [[String: Any]] = [
                ["actionType": "purchase", "value": "3"], ["actionType": "omni_purchase", "value": "3"],
                ["actionType": "offsite_conversion.fb_pixel_purchase", "value": "3"], ["actionType": "link_click", "value": "40"],
            ]
            let row: [String: Any] = [
                "date": "2026-03-09", "adId": ad, "spend": "4000", "currency": "USD", "impressions": "9000", "clicks": "120",
                "actions": actions,
            ]
            let ingested = try await edge.send(.POST, "/v1/insights", json: ["rows": [row]], token: a.token)
            try #require(ingested.status == 200, "ingest: \(ingested.text)")
            var badRow = row
            badRow["actions"] = [["actionType": "purchase", "value": "2"], ["actionType": "purchase", "value": "-1"]]
            let refused = try await edge.send(.POST, "/v1/insights", json: ["rows": [badRow]], token: a.token)
            #expect(refused.status == 400, "\(refused.text)")
            #expect(
                refused.text.contains("rows[0].actions[1].value") && refused.text.contains("rows[0].actions[1].action_type"),
                "\(refused.text)")

            // Paid at 23:30 on the 9th in Los Angeles (06:30 UTC on the 10th); refunded on the 11th,
            // charged back on the 20th and the chargeback reversed on the 25th: all on the 9th.
            let order = UUID().uuidString.lowercased()
            let sale = "2026-03-10T06:30:00Z"
            for event in [
                Self.event(a, order: order, .paid, 9900, campaign: campaign, ad: ad, saleAt: sale, occurredAt: sale),
                Self.event(a, order: order, .refunded, 1900, campaign: campaign, ad: ad, saleAt: sale, occurredAt: "2026-03-11T10:00:00Z"),
                Self.event(
                    a, order: order, .chargedBack, 3000, campaign: campaign, ad: ad, saleAt: sale, occurredAt: "2026-03-20T10:00:00Z"),
                Self.event(
                    a, order: order, .chargebackReversed, 3000, campaign: campaign, ad: ad, saleAt: sale, occurredAt: "2026-03-25T10:00:00Z"
                ),
                Self.event(
                    a, order: UUID().uuidString.lowercased(), .chargedBack, 500, campaign: campaign, ad: ad, saleAt: sale, occurredAt: sale),
            ] {
                let applied = try await orders.unary(
                    StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
                #expect(applied.applied)
            }
            let badTime = await #expect(throws: RPCError.self) {
                var event = Self.event(a, order: order, .paid, 1, campaign: campaign, ad: ad, saleAt: "yesterday", occurredAt: sale)
                event.kind = .paid
                _ = try await orders.unary(StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
            }
            #expect(badTime?.code == .invalidArgument && badTime?.message.contains("sale_at") == true)

            let stats = try await EndToEndTests.waitForStats(
                edge, campaignID: campaign, since: "2026-03-08", until: "2026-03-10", token: a.token
            ) {
                stats in JSONValues.int64(EndToEndTests.days(stats)["2026-03-09"]?["chargebacks"]) == 500
            }
            let days = EndToEndTests.days(stats)
            let ninth = days["2026-03-09"] ?? [:]
            #expect(JSONValues.int64(ninth["spend"]) == 4000 && JSONValues.int64(ninth["purchases"]) == 3, "\(ninth)")
            #expect(JSONValues.int64(ninth["orders"]) == 1 && JSONValues.int64(ninth["revenue"]) == 9900, "\(ninth)")
            #expect(JSONValues.int64(ninth["refunds"]) == 1900 && JSONValues.int64(ninth["chargebacks"]) == 500, "\(ninth)")
            #expect(JSONValues.int64(ninth["netRevenue"]) == 9900 - 1900 - 500, "\(ninth)")
            #expect((ninth["roas"] as? Double).map { abs($0 - 7500.0 / 4000.0) < 1e-9 } == true, "\(ninth)")
            for day in ["2026-03-08", "2026-03-10"] {
                #expect(
                    JSONValues.int64(days[day]?["revenue"]) == 0 && JSONValues.int64(days[day]?["spend"]) == 0,
                    "\(day): \(days[day] ?? [:])")
            }
            // B sees none of it: the campaign is not B's.
            let asB = try await edge.send(.GET, "/v1/campaigns/\(campaign)/stats?since=2026-03-09&until=2026-03-09", token: b.token)
            #expect(asB.status == 404, "\(asB.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await orders.close()
        await statsIdentity.close()
        try await edge.shutdown()
        let unclean = await system.stop()
        #expect(unclean.isEmpty, "\(unclean)")
    }

    /// The calls CampaignService served for one request id (its `rpc.call` log lines).
    static func campaignCalls(_ system: PixEcomSystem, requestID: String) -> [String] {
        system.campaign.logTail(lines: 2000).split(separator: "\n")
            .filter { $0.contains("\"request.id\":\"\(requestID)\"") && $0.contains("rpc.call") }
            .map(String.init)
    }

    @Test(
        "the ads manager: every campaign with every metric, sorted by ROAS, filtered by thresholds, summed per currency, in pages with one CampaignService call each, drilled down to ads; another seller sees none of it"
    )
    func adsManager() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        let orders = try Self.client(system, "stats", port: system.stats.rpcPort, as: "orders")
        do {
            let free = try await EndToEndTests.register(edge, name: "Manager")
            // Two ad accounts and five campaigns need more than the free plan; the new plan is in
            // the next token.
            try await AccessControlTests.setPlan(system, sellerID: free.sellerID, plan: "pro")
            let a = try await EndToEndTests.login(edge, free)
            let b = try await EndToEndTests.register(edge, name: "Bystander")
            let usd = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "US", "currency": "USD", "timeZone": "UTC"], token: a.token)
            let eur = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "EU", "currency": "EUR", "timeZone": "Europe/Berlin"], token: a.token)
            // (name, account, status, spend per ad, revenue per ad)
            let plan: [(String, String, String, [Int64], [Int64])] = [
                ("Winner", usd, "ACTIVE", [6000, 4000], [20000, 10000]),
                ("Loser", usd, "ACTIVE", [8000], [4000]),
                ("Silent", usd, "ACTIVE", [], []),
                ("Break-even", usd, "PAUSED", [6000], [6000]),
                ("Euro", eur, "ACTIVE", [5000], [0]),
            ]
            let day = "2026-04-02"
            var campaigns: [String: String] = [:]
            var ads: [String: [String]] = [:]
            var rows: [[String: Any]] = []
            for (name, account, status, spends, revenues) in plan {
                let campaign = try await EndToEndTests.create(
                    edge, "/v1/campaigns",
                    ["adAccountId": account, "name": name, "objective": "OUTCOME_SALES", "dailyBudget": "90000", "status": status],
                    token: a.token)
                campaigns[name] = campaign
                let adSet = try await EndToEndTests.create(
                    edge, "/v1/ad-sets",
                    ["campaignId": campaign, "name": "\(name) set", "targeting": ["countries": ["US"]], "status": "ACTIVE"],
                    token: a.token)
                for (index, spend) in spends.enumerated() {
                    let ad = try await EndToEndTests.create(
                        edge, "/v1/ads",
                        [
                            "adSetId": adSet, "name": "\(name) ad \(index)", "linkUrl": "https://shop.example.com/\(index)",
                            "status": "ACTIVE",
                        ],
                        token: a.token)
                    ads[name, default: []].append(ad)
                    let currency = account == usd ? "USD" : "EUR"
                    rows.append([
                        "date": day, "adId": ad, "spend": "\(spend)", "currency": currency, "impressions": "\(spend * 5)",
                        "clicks": "\(spend / 100)",
                    ])
                    guard revenues[index] > 0 else { continue }
                    let event = Pixecom_Stats_V1_OrderEvent.with {
                        $0.eventID = UUID().uuidString.lowercased()
                        $0.sellerID = a.sellerID
                        $0.orderID = UUID().uuidString.lowercased()
                        $0.kind = .paid
                        $0.amount = revenues[index]
                        $0.currency = currency
                        $0.campaignID = campaign
                        $0.adID = ad
                        $0.saleAt = "\(day)T12:00:00Z"
                    }
                    _ = try await orders.unary(StatsMethods.recordOrderEvent, event, as: Pixecom_Stats_V1_RecordOrderEventResponse.self)
                }
            }
            let ingested = try await edge.send(.POST, "/v1/insights", json: ["rows": rows], token: a.token)
            try #require(ingested.status == 200, "ingest: \(ingested.text)")
            let base = "/v1/ads-manager?since=\(day)&until=\(day)"
            func get(_ query: String, token: String? = nil) async throws -> EdgeHTTPClient.Reply {
                try await edge.send(.GET, base + query, token: token ?? a.token)
            }
            func names(_ reply: EdgeHTTPClient.Reply) -> [String] {
                (reply.json["rows"] as? [[String: Any]] ?? []).map { JSONValues.string($0["name"]) }
            }
            // Revenue reaches the aggregates through the job queue.
            var byROAS = try await get("&level=CAMPAIGN&sort=-roas")
            for _ in 0..<100 where names(byROAS) != ["Winner", "Break-even", "Loser", "Euro", "Silent"] {
                try await Task.sleep(for: .milliseconds(100))
                byROAS = try await get("&level=CAMPAIGN&sort=-roas")
            }
            #expect(byROAS.status == 200, "\(byROAS.text)")
            #expect(names(byROAS) == ["Winner", "Break-even", "Loser", "Euro", "Silent"], "\(byROAS.text)")
            let winner = (byROAS.json["rows"] as? [[String: Any]])?.first ?? [:]
            let metrics = winner["metrics"] as? [String: Any] ?? [:]
            #expect(JSONValues.int64(metrics["spend"]) == 10000 && JSONValues.int64(metrics["revenue"]) == 30000, "\(winner)")
            #expect(JSONValues.double(metrics["roas"]) == 3.0 && JSONValues.double(metrics["cpa"]) == 5000.0, "\(winner)")
            #expect(JSONValues.string(winner["currency"]) == "USD" && JSONValues.string(winner["effectiveStatus"]) == "ACTIVE")
            let silent = (byROAS.json["rows"] as? [[String: Any]])?.last?["metrics"] as? [String: Any] ?? [:]
            #expect(silent["roas"] == nil && silent["cpm"] == nil, "a ratio over zero is absent: \(silent)")
            // One summary per currency over the whole selection.
            let summary = byROAS.json["summary"] as? [[String: Any]] ?? []
            #expect(summary.map { JSONValues.string($0["currency"]) } == ["EUR", "USD"], "\(summary)")
            let usdSummary = summary.last?["metrics"] as? [String: Any] ?? [:]
            #expect(JSONValues.int64(summary.last?["rows"]) == 4 && JSONValues.int64(usdSummary["spend"]) == 24000, "\(summary)")
            #expect(JSONValues.int64(usdSummary["revenue"]) == 40000 && JSONValues.double(usdSummary["roas"]) == 40000.0 / 24000.0)

            // Thresholds: ROAS under 1.2 and spend over 50.00.
            let losing = try await get(
                "&level=CAMPAIGN&sort=-spend&filter=" + "roas<1.2,spend>5000".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            #expect(names(losing) == ["Loser", "Break-even"], "\(losing.text)")
            #expect(JSONValues.int64((losing.json["summary"] as? [[String: Any]])?.first?["rows"]) == 2, "\(losing.text)")

            // Pages of two: three pages, one CampaignService call each, every campaign once.
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let requestID = "page-\(pages)-\(UUID().uuidString.prefix(8))"
                let page = try await edge.send(
                    .GET, base + "&level=CAMPAIGN&sort=-roas&pageSize=2" + (token.isEmpty ? "" : "&pageToken=\(token)"), token: a.token,
                    headers: [("X-Request-Id", requestID)])
                #expect(page.status == 200, "\(page.text)")
                let calls = Self.campaignCalls(system, requestID: requestID)
                #expect(calls.count == 1 && calls[0].contains("DescribeObjects"), "one CampaignService call per page: \(calls)")
                seen += names(page)
                token = JSONValues.string(page.json["nextPageToken"]).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                pages += 1
            } while !token.isEmpty && pages < 10
            #expect(pages == 3 && seen == ["Winner", "Break-even", "Loser", "Euro", "Silent"], "\(seen)")

            // Drill-down: the winner's ads, then its ad sets.
            let winnerAds = try await get("&level=AD&sort=spend&parentId=\(campaigns["Winner"]!)")
            #expect(names(winnerAds) == ["Winner ad 1", "Winner ad 0"], "\(winnerAds.text)")
            let adRows = winnerAds.json["rows"] as? [[String: Any]] ?? []
            #expect(adRows.map { JSONValues.string($0["id"]) } == ads["Winner"]!.reversed())
            #expect(adRows.map { JSONValues.int64(($0["metrics"] as? [String: Any])?["revenue"]) } == [10000, 20000])
            let winnerSets = try await get("&level=AD_SET&parentId=\(campaigns["Winner"]!)")
            #expect(names(winnerSets) == ["Winner set"], "\(winnerSets.text)")

            // Bad requests name their field.
            for (query, field) in [
                ("&level=CAMPAIGN&sort=happiness", "sort"), ("&level=CAMPAIGN&filter=roas%3C%3C1", "filter"),
                ("&level=CAMPAIGN&filter=mood%3E1", "filter"), ("&sort=spend", "level"),
                ("&level=CAMPAIGN&parentId=\(usd)", "parent_id"), ("&level=AD&pageToken=bm9wZQ", "page_token"),
            ] {
                let refused = try await get(query)
                #expect(refused.status == 400 && refused.text.contains(field), "\(query): \(refused.status) \(refused.text)")
            }
            // Stats at any level: the whole seller per currency, an ad account, an ad set, an ad in total.
            func stats(_ query: String, token: String? = nil) async throws -> EdgeHTTPClient.Reply {
                try await edge.send(.GET, "/v1/stats?since=\(day)&until=\(day)" + query, token: token ?? a.token)
            }
            func totals(_ reply: EdgeHTTPClient.Reply) -> [String: [String: Any]] {
                var byCurrency: [String: [String: Any]] = [:]
                for group in reply.json["currencies"] as? [[String: Any]] ?? [] {
                    byCurrency[JSONValues.string(group["currency"])] = group["total"] as? [String: Any] ?? [:]
                }
                return byCurrency
            }
            let seller = try await stats("&level=SELLER")
            #expect(seller.status == 200 && Set(totals(seller).keys) == ["EUR", "USD"], "\(seller.text)")
            #expect(
                JSONValues.int64(totals(seller)["USD"]?["spend"]) == 24000 && JSONValues.int64(totals(seller)["USD"]?["revenue"]) == 40000)
            #expect(JSONValues.int64(totals(seller)["EUR"]?["spend"]) == 5000, "\(seller.text)")
            let usdAccount = try await stats("&level=AD_ACCOUNT&id=\(usd)")
            #expect(
                Array(totals(usdAccount).keys) == ["USD"] && JSONValues.int64(totals(usdAccount)["USD"]?["orders"]) == 4,
                "\(usdAccount.text)")
            let winnerSet = try #require((winnerSets.json["rows"] as? [[String: Any]])?.first.map { JSONValues.string($0["id"]) })
            let adSetStats = try await stats("&level=AD_SET&id=\(winnerSet)")
            #expect(JSONValues.int64(totals(adSetStats)["USD"]?["revenue"]) == 30000, "\(adSetStats.text)")
            let adTotal = try await stats("&level=AD&id=\(ads["Winner"]![0])&granularity=TOTAL")
            let adGroup = (adTotal.json["currencies"] as? [[String: Any]])?.first ?? [:]
            #expect((adGroup["days"] as? [Any] ?? []).isEmpty && JSONValues.int64((adGroup["total"] as? [String: Any])?["spend"]) == 6000)
            let daily = try await stats("&level=CAMPAIGN&id=\(campaigns["Winner"]!)")
            #expect(((daily.json["currencies"] as? [[String: Any]])?.first?["days"] as? [Any])?.count == 1, "\(daily.text)")
            for (query, field) in [("&level=CAMPAIGN", "id"), ("&level=SELLER&id=\(usd)", "id"), ("&id=\(usd)", "level")] {
                let refused = try await stats(query)
                #expect(refused.status == 400 && refused.text.contains(field), "\(query): \(refused.text)")
            }
            for query in [
                "&level=AD_ACCOUNT&id=\(usd)", "&level=CAMPAIGN&id=\(campaigns["Winner"]!)", "&level=AD_SET&id=\(winnerSet)",
                "&level=AD&id=\(ads["Winner"]![0])",
            ] {
                let foreign = try await stats(query, token: b.token)
                #expect(foreign.status == 404, "another seller's object: \(query) \(foreign.text)")
            }
            let bSeller = try await stats("&level=SELLER", token: b.token)
            #expect(bSeller.status == 200 && totals(bSeller).isEmpty, "\(bSeller.text)")

            // Another seller: nothing of A's, and A's campaign as a parent is not found.
            let asB = try await get("&level=CAMPAIGN", token: b.token)
            #expect(asB.status == 200 && names(asB).isEmpty && (asB.json["summary"] as? [Any] ?? []).isEmpty, "\(asB.text)")
            let drillAsB = try await get("&level=AD&parentId=\(campaigns["Winner"]!)", token: b.token)
            #expect(drillAsB.status == 404, "\(drillAsB.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await orders.close()
        try await edge.shutdown()
        let unclean = await system.stop()
        #expect(unclean.isEmpty, "\(unclean)")
    }
}
