import Foundation
import PostgresNIO
import Testing

/// Campaigns, ad sets and ads in Meta's shape, through the edge as a browser calls them: budgets
/// at exactly one level, bid strategies and what they need, targeting, special ad categories,
/// schedules, the derived effective status, List filters over several pages, and updates with a
/// field mask. Every refusal names its field, and leaves nothing written (here or on the sandbox
/// platform).
@Suite("Campaigns in Meta's shape", .serialized)
struct CampaignShapeTests {
    typealias Reply = EdgeHTTPClient.Reply

    /// The fields an error reply names.
    static func fields(_ reply: Reply) -> [String] {
        let error = reply.json["error"] as? [String: Any] ?? [:]
        return (error["details"] as? [[String: Any]] ?? []).map { JSONValues.string($0["field"]) }
    }

    /// Expects `reply` to be a refusal with `status` naming `field`.
    static func expectRefused(
        _ reply: Reply, _ status: Int, field: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.status == status, "\(what): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
        #expect(Self.fields(reply) == [field], "\(what) names \(field): \(reply.text)", sourceLocation: sourceLocation)
    }

    static let far = "2030-01-31T00:00:00Z"
    static var us: [String: Any] { ["countries": ["US"]] }

    @Test(
        "budgets live at one level, bid strategies get what they need, targeting and categories are checked, each refusal naming its field")
    func creationRules() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let token = try await EndToEndTests.register(edge, name: "Shape").token
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            func campaign(_ extra: [String: Any]) async throws -> Reply {
                try await edge.send(
                    .POST, "/v1/campaigns",
                    json: ["adAccountId": account, "name": "C", "objective": "OUTCOME_SALES"].merging(extra) { $1 }, token: token)
            }
            func adSet(_ campaign: String, _ extra: [String: Any]) async throws -> Reply {
                try await edge.send(
                    .POST, "/v1/ad-sets", json: ["campaignId": campaign, "name": "S", "targeting": Self.us].merging(extra) { $1 },
                    token: token)
            }

            // Campaigns: one budget type at most; known strategies and categories, each once.
            Self.expectRefused(
                try await campaign(["dailyBudget": "100", "lifetimeBudget": "1000"]), 400, field: "lifetime_budget", "both budget types")
            Self.expectRefused(try await campaign(["bidStrategy": "CHEAPEST"]), 400, field: "bid_strategy", "an unknown strategy")
            Self.expectRefused(
                try await campaign(["specialAdCategories": ["HOUSING", "PETS"]]), 400, field: "special_ad_categories[1]",
                "an unknown category")
            Self.expectRefused(
                try await campaign(["specialAdCategories": ["CREDIT", "CREDIT"]]), 400, field: "special_ad_categories[1]",
                "a repeated category")
            let cbo = try await campaign(["dailyBudget": "5000"])
            #expect(cbo.status == 200 && JSONValues.string(cbo.json["bidStrategy"]) == "LOWEST_COST_WITHOUT_CAP", "\(cbo.text)")
            #expect(JSONValues.string(cbo.json["effectiveStatus"]) == "PAUSED", "new objects start PAUSED: \(cbo.text)")
            let cboID = JSONValues.string(cbo.json["id"])
            let abo = JSONValues.string(try await campaign([:]).json["id"])
            let lifetime = JSONValues.string(try await campaign(["lifetimeBudget": "900000"]).json["id"])
            let costCap = JSONValues.string(try await campaign(["bidStrategy": "COST_CAP"]).json["id"])
            let minROAS = JSONValues.string(try await campaign(["bidStrategy": "LOWEST_COST_WITH_MIN_ROAS"]).json["id"])
            let housing = JSONValues.string(try await campaign(["specialAdCategories": ["HOUSING"], "dailyBudget": "100"]).json["id"])
            #expect(![abo, lifetime, costCap, minROAS, housing].contains(""))

            // Ad sets: the budget sits where the campaign says.
            Self.expectRefused(
                try await adSet(cboID, ["dailyBudget": "100"]), 422, field: "daily_budget", "an ad set budget under a campaign budget")
            Self.expectRefused(try await adSet(abo, [:]), 422, field: "daily_budget", "no budget anywhere")
            Self.expectRefused(
                try await adSet(abo, ["dailyBudget": "100", "lifetimeBudget": "100"]), 400, field: "lifetime_budget", "both types")
            Self.expectRefused(
                try await adSet(abo, ["lifetimeBudget": "100000"]), 400, field: "end_time", "a lifetime budget without an end")
            Self.expectRefused(try await adSet(lifetime, [:]), 422, field: "end_time", "a campaign lifetime budget without an end")
            Self.expectRefused(
                try await adSet(abo, ["dailyBudget": "100", "startTime": "2030-02-01T00:00:00Z", "endTime": Self.far]), 400,
                field: "end_time", "an end before the start")
            Self.expectRefused(
                try await adSet(abo, ["dailyBudget": "100", "endTime": "tomorrow"]), 400, field: "end_time", "a malformed time")

            // Bids: the cap strategies need an amount, MIN_ROAS a floor, the others neither.
            Self.expectRefused(try await adSet(costCap, ["dailyBudget": "100"]), 422, field: "bid_amount", "COST_CAP without an amount")
            Self.expectRefused(
                try await adSet(abo, ["dailyBudget": "100", "bidAmount": "50"]), 422, field: "bid_amount", "an amount nobody uses")
            Self.expectRefused(
                try await adSet(minROAS, ["dailyBudget": "100"]), 422, field: "roas_average_floor", "MIN_ROAS without a floor")
            Self.expectRefused(
                try await adSet(minROAS, ["dailyBudget": "100", "roasAverageFloor": "0.5"]), 400, field: "roasAverageFloor",
                "a floor that is not whole")

            // Targeting.
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["ageMin": 20]]), 400, field: "targeting.countries", "no countries")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["US", "us"]]]), 400, field: "targeting.countries[1]",
                "a lower-case code")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["XX"]]]), 400, field: "targeting.countries[0]", "no such country")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["US"], "ageMin": 17]]), 400, field: "targeting.age_min", "too young")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["US"], "ageMin": 40, "ageMax": 30]]), 400, field: "targeting.age_max",
                "ages crossed")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["US"], "genders": [3]]]), 400, field: "targeting.genders[0]",
                "an unknown gender")
            Self.expectRefused(
                try await adSet(cboID, ["targeting": ["countries": ["US"], "publisherPlatforms": ["myspace"]]]), 400,
                field: "targeting.publisher_platforms[0]", "an unknown placement")
            let noTargeting = try await edge.send(.POST, "/v1/ad-sets", json: ["campaignId": cboID, "name": "S"], token: token)
            Self.expectRefused(noTargeting, 400, field: "targeting", "no targeting")
            Self.expectRefused(
                try await adSet(housing, ["targeting": ["countries": ["US"], "ageMin": 25]]), 422, field: "targeting.age_min",
                "an age range under HOUSING")
            Self.expectRefused(
                try await adSet(housing, ["targeting": ["countries": ["US"], "genders": [2]]]), 422, field: "targeting.genders",
                "one gender under HOUSING")
            Self.expectRefused(
                try await adSet(cboID, ["billingEvent": "LINK_CLICKS"]), 400, field: "billing_event", "link-click billing for conversions")

            // Nothing refused above was written, here or on the platform.
            let listed = try await edge.send(.GET, "/v1/ad-sets", token: token)
            #expect((listed.json["adSets"] as? [Any] ?? []).isEmpty, "\(listed.text)")
            let database = try #require(system.databases["campaign"]?.admin)
            let platformAdSets = try await TestDatabases.withClient(database) { client in
                var count = 0
                for try await value in try await client.query("SELECT count(*) FROM sandbox_objects WHERE kind = 'ad_set'").decode(Int.self)
                {
                    count = value
                }
                return count
            }
            #expect(platformAdSets == 0)

            // What is accepted, with its defaults, and as the platform holds it.
            let full = try await adSet(
                costCap,
                [
                    "lifetimeBudget": "300000", "bidAmount": "250", "startTime": "2029-12-01T00:00:00Z", "endTime": Self.far,
                    "targeting": [
                        "countries": ["US", "CA"], "ageMin": 25, "ageMax": 44, "genders": [2], "publisherPlatforms": ["instagram"],
                    ],
                ])
            #expect(full.status == 200, "\(full.text)")
            #expect(JSONValues.string(full.json["optimizationGoal"]) == "OFFSITE_CONVERSIONS", "the objective's goal: \(full.text)")
            #expect(JSONValues.string(full.json["billingEvent"]) == "IMPRESSIONS")
            #expect(JSONValues.string(full.json["endTime"]) == "2030-01-31T00:00:00.000Z")
            let targeting = full.json["targeting"] as? [String: Any] ?? [:]
            #expect(targeting["countries"] as? [String] == ["US", "CA"] && targeting["ageMax"] as? Int == 44, "\(full.text)")
            let traffic = JSONValues.string(
                try await campaign(["objective": "OUTCOME_TRAFFIC", "dailyBudget": "100"]).json["id"])
            let clicks = try await adSet(traffic, ["billingEvent": "LINK_CLICKS"])
            #expect(clicks.status == 200 && JSONValues.string(clicks.json["optimizationGoal"]) == "LINK_CLICKS", "\(clicks.text)")
            let housingAdSet = try await adSet(housing, ["targeting": ["countries": ["US"], "genders": [1, 2]]])
            #expect(housingAdSet.status == 200, "both genders is everyone: \(housingAdSet.text)")
            let external = JSONValues.string(full.json["externalId"])
            let payload = try await TestDatabases.withClient(database) { client in
                var text = ""
                for try await value in try await client.query(
                    "SELECT payload::text FROM sandbox_objects WHERE external_id = \(external)"
                ).decode(String.self) {
                    text = value
                }
                return text
            }
            #expect(payload.contains("\"bid_amount\": 250") && payload.contains("\"instagram\""), "the platform's copy: \(payload)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("the effective status follows the parents, List filters combine over several pages, and updates follow the field mask")
    func effectiveStatusFiltersAndUpdates() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            // Fourteen campaigns: more than the free plan allows.
            let seller = try await EndToEndTests.register(edge, name: "Lists")
            try await AccessControlTests.setPlan(system, sellerID: seller.sellerID, plan: "pro")
            let login = try await edge.send(.POST, "/v1/auth/login", json: ["email": seller.email, "password": seller.password])
            let token = JSONValues.string(login.json["accessToken"])
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns",
                ["adAccountId": account, "name": "Winter", "objective": "OUTCOME_SALES", "dailyBudget": "5000", "status": "ACTIVE"],
                token: token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "S", "targeting": Self.us, "status": "ACTIVE"], token: token)
            let ad = try await EndToEndTests.create(
                edge, "/v1/ads", ["adSetId": adSet, "name": "Ad", "linkUrl": "https://shop.example.com/p", "status": "ACTIVE"],
                token: token)
            func effective(_ path: String) async throws -> String {
                JSONValues.string(try await edge.send(.GET, path, token: token).json["effectiveStatus"])
            }
            #expect(try await effective("/v1/ads/\(ad)") == "ACTIVE")
            _ = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["status": "PAUSED"], token: token)
            #expect(try await effective("/v1/ad-sets/\(adSet)") == "CAMPAIGN_PAUSED")
            #expect(try await effective("/v1/ads/\(ad)") == "CAMPAIGN_PAUSED")
            _ = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["status": "ACTIVE"], token: token)
            _ = try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["status": "PAUSED"], token: token)
            #expect(try await effective("/v1/ad-sets/\(adSet)") == "PAUSED")
            #expect(try await effective("/v1/ads/\(ad)") == "ADSET_PAUSED")
            let byEffective = try await edge.send(.GET, "/v1/ads?effectiveStatus=ADSET_PAUSED", token: token)
            #expect((byEffective.json["ads"] as? [[String: Any]])?.map { JSONValues.string($0["id"]) } == [ad], "\(byEffective.text)")
            let noneActive = try await edge.send(.GET, "/v1/ads?effectiveStatus=ACTIVE", token: token)
            #expect((noneActive.json["ads"] as? [Any] ?? []).isEmpty, "\(noneActive.text)")
            Self.expectRefused(
                try await edge.send(.GET, "/v1/ads?effectiveStatus=SLEEPING", token: token), 400, field: "effective_status",
                "an unknown effective status")

            // Eleven more campaigns: "Sale n" (odd n for traffic), one named with a LIKE wildcard,
            // two deleted.
            var created: [String] = []
            for index in 1...11 {
                let name = index == 11 ? "Sale 100% off" : "Sale \(index)"
                let objective = index % 2 == 1 ? "OUTCOME_TRAFFIC" : "OUTCOME_SALES"
                created.append(
                    try await EndToEndTests.create(
                        edge, "/v1/campaigns", ["adAccountId": account, "name": name, "objective": objective], token: token))
            }
            // Just before the sixth was created: its create_time, written to the millisecond, less
            // one millisecond (creations here are several milliseconds apart).
            let middle = try await edge.send(.GET, "/v1/campaigns/\(created[5])", token: token)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let sixth = try #require(formatter.date(from: JSONValues.string(middle.json["createTime"])), "\(middle.text)")
            let boundary = formatter.string(from: sixth.addingTimeInterval(-0.001))
            for deleted in created.suffix(2) {
                _ = try await edge.send(.PATCH, "/v1/campaigns/\(deleted)", json: ["status": "DELETED"], token: token)
            }
            /// Every page of `query`, two at a time: the ids in order and how many pages it took.
            func all(_ query: String) async throws -> (ids: [String], pages: Int) {
                var ids: [String] = []
                var token_ = ""
                var pages = 0
                repeat {
                    let page = try await edge.send(.GET, "/v1/campaigns?pageSize=2&\(query)&pageToken=\(token_)", token: token)
                    try #require(page.status == 200, "\(query): \(page.text)")
                    ids += (page.json["campaigns"] as? [[String: Any]] ?? []).map { JSONValues.string($0["id"]) }
                    token_ = JSONValues.string(page.json["nextPageToken"])
                    pages += 1
                } while !token_.isEmpty && pages < 50
                return (ids, pages)
            }
            let sales = try await all("nameContains=sale")
            #expect(sales.ids == Array(created.prefix(9)), "DELETED ones left out, in creation order")
            #expect(sales.pages == 5)
            let traffic = try await all("nameContains=SALE&objective=OUTCOME_TRAFFIC")
            #expect(traffic.ids == [created[0], created[2], created[4], created[6], created[8]])
            let wildcard = try await all("status=DELETED&nameContains=1_")
            #expect(wildcard.ids.isEmpty, "_ is a character, not a LIKE wildcard: \(wildcard.ids)")
            let deleted = try await all("status=DELETED")
            #expect(deleted.ids == Array(created.suffix(2)))
            let percent = try await all("status=DELETED&nameContains=0%25%20off")
            #expect(percent.ids == [created[10]])
            let later = try await all("createdAfter=\(boundary)&nameContains=Sale")
            #expect(later.ids == Array(created[5..<9]), "created from the sixth on")
            let earlier = try await all("createdBefore=\(boundary)&objective=OUTCOME_SALES")
            #expect(earlier.ids == [campaign, created[1], created[3]])
            let updated = try await all("updatedAfter=\(boundary)&status=PAUSED&parentId=\(account)")
            #expect(updated.ids == Array(created[5..<9]), "the paused campaigns touched since")
            Self.expectRefused(
                try await edge.send(.GET, "/v1/campaigns?createdAfter=yesterday", token: token), 400, field: "created_after", "a bad time")
            Self.expectRefused(
                try await edge.send(.GET, "/v1/campaigns?objective=OUTCOME_FAME", token: token), 400, field: "objective",
                "an unknown objective")

            // Updates: what the mask names, checked against the object.
            let perAdSet = try await EndToEndTests.create(
                edge, "/v1/campaigns",
                ["adAccountId": account, "name": "Per ad set", "objective": "OUTCOME_SALES", "bidStrategy": "COST_CAP"],
                token: token)
            let capped = try await EndToEndTests.create(
                edge, "/v1/ad-sets",
                ["campaignId": perAdSet, "name": "Capped", "dailyBudget": "900", "bidAmount": "120", "targeting": Self.us], token: token)
            let retargeted = try await edge.send(
                .PATCH, "/v1/ad-sets/\(capped)",
                json: ["targeting": ["countries": ["DE", "AT"], "ageMin": 30], "bidAmount": "150", "endTime": Self.far], token: token)
            #expect(retargeted.status == 200, "\(retargeted.text)")
            #expect((retargeted.json["targeting"] as? [String: Any])?["countries"] as? [String] == ["DE", "AT"])
            #expect(JSONValues.string(retargeted.json["bidAmount"]) == "150")
            #expect(JSONValues.string(retargeted.json["dailyBudget"]) == "900", "not in the mask: unchanged")
            let cleared = try await edge.send(.PATCH, "/v1/ad-sets/\(capped)?updateMask=endTime", json: [:], token: token)
            #expect(
                cleared.status == 200 && JSONValues.string(cleared.json["endTime"]).isEmpty,
                "a daily budget runs until stopped: \(cleared.text)")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-sets/\(capped)", json: ["lifetimeBudget": "5000"], token: token), 422,
                field: "lifetime_budget", "another budget type")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["dailyBudget": "5000"], token: token), 422,
                field: "daily_budget", "a budget on an ad set whose campaign holds it")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["bidAmount": "5"], token: token), 422,
                field: "bid_amount", "a bid under a strategy without one")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/campaigns/\(perAdSet)", json: ["dailyBudget": "5000"], token: token), 422,
                field: "daily_budget", "a budget on a campaign whose ad sets carry theirs")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-sets/\(capped)", json: ["targeting": ["countries": []]], token: token), 400,
                field: "targeting.countries", "targeting without countries")
            Self.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-sets/\(capped)", json: ["endTime": "2020-01-01T00:00:00Z"], token: token), 400,
                field: "end_time", "an end in the past")
            let relinked = try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["linkUrl": "https://shop.example.com/q"], token: token)
            #expect(JSONValues.string(relinked.json["linkUrl"]) == "https://shop.example.com/q", "\(relinked.text)")
            let budget = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["dailyBudget": "7000"], token: token)
            #expect(JSONValues.string(budget.json["dailyBudget"]) == "7000", "\(budget.text)")
            let after = try await edge.send(.GET, "/v1/ad-sets/\(capped)", token: token)
            #expect(JSONValues.string(after.json["bidAmount"]) == "150" && JSONValues.string(after.json["dailyBudget"]) == "900")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
