import Foundation
import Testing

/// PATCH with a field mask on campaigns, ad sets and ads, through the edge.
@Suite("Partial updates")
struct CampaignUpdateTests {
    @Test("PATCH changes exactly the masked fields (updateMask, or the fields the body names), with clear errors otherwise")
    func fieldMasks() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Patch")
            let token = seller.token
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "Old", "objective": "OUTCOME_SALES", "dailyBudget": "1000"],
                token: token)
            // Ad sets with budgets of their own live under a campaign without one.
            let perAdSet = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "Per ad set", "objective": "OUTCOME_SALES"], token: token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": perAdSet, "name": "S", "dailyBudget": "700", "targeting": ["countries": ["US"]]],
                token: token)
            let ad = try await EndToEndTests.create(
                edge, "/v1/ads", ["adSetId": adSet, "name": "Ad", "linkUrl": "https://shop.example/x"], token: token)

            // The body names name and dailyBudget: both change, the status stays.
            let statusBefore = JSONValues.string(try await edge.send(.GET, "/v1/campaigns/\(campaign)", token: token).json["status"])
            let both = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["name": "New", "dailyBudget": "2500"], token: token)
            #expect(both.status == 200, "\(both.text)")
            #expect(JSONValues.string(both.json["name"]) == "New")
            #expect(JSONValues.string(both.json["dailyBudget"]) == "2500")
            #expect(JSONValues.string(both.json["status"]) == statusBefore)

            // An explicit mask wins: only the name changes although the body has a budget.
            let masked = try await edge.send(
                .PATCH, "/v1/ad-sets/\(adSet)?updateMask=name", json: ["name": "Renamed", "dailyBudget": "9999"], token: token)
            #expect(masked.status == 200, "\(masked.text)")
            #expect(JSONValues.string(masked.json["name"]) == "Renamed")
            #expect(JSONValues.string(masked.json["dailyBudget"]) == "700")

            // Status and name together, on an ad.
            let paused = try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["status": "PAUSED", "name": "Ad 2"], token: token)
            #expect(JSONValues.string(paused.json["status"]) == "PAUSED")
            #expect(JSONValues.string(paused.json["name"]) == "Ad 2")

            // Errors name the field: an ad has no budget, an unknown path, a bad value, no fields.
            let adBudget = try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["dailyBudget": "5"], token: token)
            #expect(adBudget.status == 400)
            #expect(adBudget.text.contains("dailyBudget"), "\(adBudget.text)")
            let adBudgetPath = try await edge.send(
                .PATCH, "/v1/ads/\(ad)?updateMask=daily_budget", json: ["dailyBudget": "5"], token: token)
            #expect(adBudgetPath.status == 400, "an ad has no daily_budget, by either spelling: \(adBudgetPath.text)")
            let unknownPath = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)?updateMask=objective", json: [:], token: token)
            #expect(unknownPath.status == 400)
            #expect(unknownPath.text.contains("objective"))
            let badBudget = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["dailyBudget": "-3"], token: token)
            #expect(badBudget.status == 400)
            #expect(badBudget.text.contains("daily_budget"))
            let nothing = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: [:], token: token)
            #expect(nothing.status == 400)
            #expect(nothing.text.contains("update_mask"))
            let unknownField = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["color": "red"], token: token)
            #expect(unknownField.status == 400)

            // Nothing failed above changed anything.
            let after = try await edge.send(.GET, "/v1/campaigns/\(campaign)", token: token)
            #expect(JSONValues.string(after.json["name"]) == "New")
            #expect(JSONValues.string(after.json["dailyBudget"]) == "2500")

            // A DELETED object keeps its settings.
            _ = try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["status": "DELETED"], token: token)
            let deleted = try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["name": "Zombie"], token: token)
            #expect(deleted.status == 422, "\(deleted.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
