import Foundation
import Testing

@testable import CampaignService

/// The ad platform's errors in Meta's shape: the sandbox answers its refusals as Graph API error
/// bodies (code, subcode, type, fbtrace_id) and the service reads them as the Meta adapter will;
/// Meta's rule of at most four budget changes per ad set and hour holds on the sandbox.
@Suite("Ad platform errors in Meta's shape", .serialized)
struct PlatformErrorTests {
    @Test("Graph API error bodies are read by their codes; a body that is no Graph error is the platform failing")
    func graphErrorBodies() throws {
        func kind(_ body: String) -> AdPlatformError.Code { AdPlatformError(graphResponse: Data(body.utf8)).code }
        // Bodies shaped as Meta documents them.
        #expect(
            kind(
                #"{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"error_subcode":2446079,"fbtrace_id":"AbCdEfGhIjK"}}"#
            )
                == .rateLimited)
        #expect(
            kind(
                #"{"error":{"message":"There have been too many calls from this ad-account.","type":"OAuthException","code":613,"error_subcode":1487742,"fbtrace_id":"x"}}"#
            )
                == .rateLimited)
        #expect(
            kind(
                #"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}}"#
            ) == .invalidToken)
        #expect(
            kind(
                #"{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"x"}}"#
            ) == .objectNotFound)
        #expect(
            kind(#"{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"x"}}"#)
                == .invalidParameter)
        #expect(
            kind(#"{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"fbtrace_id":"x"}}"#)
                == .unavailable)
        #expect(kind("<html>502 Bad Gateway</html>") == .unavailable)

        // The sandbox's own refusals round-trip with their details.
        let refusal = AdPlatformError.graph(.invalidParameter, "targeting ages must lie within 18-65", field: "targeting")
        let graph = try #require(refusal.graph)
        #expect(graph.code == 100 && graph.type == "OAuthException" && graph.fbtraceID.count == 11)
        #expect(
            refusal.code == .invalidParameter && refusal.message == "targeting ages must lie within 18-65" && refusal.field == "targeting")
        let body = try #require(try JSONSerialization.jsonObject(with: graph.responseBody) as? [String: Any])
        let error = try #require(body["error"] as? [String: Any])
        #expect(Set(error.keys) == ["message", "type", "code", "error_user_title", "error_user_msg", "fbtrace_id"], "\(error)")
        let rpc = refusal.rpcError
        #expect(rpc.code == .invalidArgument && rpc.message.contains("(#100), fbtrace_id \(graph.fbtraceID)"), "\(rpc.message)")
        #expect(rpc.fieldViolations.map(\.field) == ["targeting"])
    }

    @Test(
        "through the edge: a fifth budget change of an ad set within the hour is throttled (429, Meta's codes), a resend of the same budget is not"
    )
    func budgetChangesPerHour() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let token = try await EndToEndTests.register(edge, name: "Budgets").token
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "C", "objective": "OUTCOME_SALES"], token: token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "S", "dailyBudget": "1000", "targeting": ["countries": ["US"]]],
                token: token)
            for budget in [1100, 1200, 1300, 1400] {
                let changed = try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["dailyBudget": "\(budget)"], token: token)
                #expect(changed.status == 200, "\(changed.text)")
            }
            let same = try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["dailyBudget": "1400", "name": "Renamed"], token: token)
            #expect(same.status == 200, "the same budget again is no change: \(same.text)")
            let fifth = try await edge.send(.PATCH, "/v1/ad-sets/\(adSet)", json: ["dailyBudget": "1500"], token: token)
            #expect(fifth.status == 429, "\(fifth.text)")
            // (JSON writes the slash as \/.)
            #expect(fifth.text.contains("(#17\\/2446079)") && fifth.text.contains("fbtrace_id"), "\(fifth.text)")
            #expect(JSONValues.int64((fifth.json["error"] as? [String: Any])?["retryAfterSeconds"]) > 3000, "\(fifth.text)")
            let stored = try await edge.send(.GET, "/v1/ad-sets/\(adSet)", token: token)
            #expect(JSONValues.int64(stored.json["dailyBudget"]) == 1400, "the refused change was not stored: \(stored.text)")

            let badToken = try await edge.send(
                .POST, "/v1/platform-connections", json: ["platform": "sandbox", "accessToken": "EAAforged"], token: token)
            #expect(badToken.status == 400 && badToken.text.contains("(#190\\/467)"), "\(badToken.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
