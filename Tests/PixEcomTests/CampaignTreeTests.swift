import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import Testing

@testable import CampaignService
@testable import ServiceKit

/// The creation wizard (CreateCampaignTree), DuplicateCampaign and BulkUpdate: a tree is created
/// whole or not at all, a dry run answers exactly what the real run creates, an idempotency key
/// creates once, and bulk changes each succeed or fail on their own.
@Suite("Campaign trees and bulk changes", .serialized)
struct CampaignTreeTests {
    typealias Reply = EdgeHTTPClient.Reply

    /// A wizard request body: a campaign with a budget, two ad sets of two and one ads.
    static func wizard(account: String, name: String = "Spring launch") -> [String: Any] {
        [
            "campaign": ["adAccountId": account, "name": name, "objective": "OUTCOME_SALES", "dailyBudget": "8000"],
            "adSets": [
                [
                    "adSet": ["name": "US women 25-44", "targeting": ["countries": ["US"], "ageMin": 25, "ageMax": 44, "genders": [2]]],
                    "ads": [
                        ["name": "Red scarf", "linkUrl": "https://shop.example.com/p/red"],
                        ["name": "Blue scarf", "linkUrl": "https://shop.example.com/p/blue"],
                    ],
                ],
                [
                    "adSet": ["name": "Canada", "targeting": ["countries": ["CA"]], "status": "ACTIVE"],
                    "ads": [["name": "Green scarf", "linkUrl": "https://shop.example.com/p/green", "status": "ACTIVE"]],
                ],
            ],
        ]
    }

    /// The tree with what only storing gives (ids, external ids, times) left out.
    static func shape(_ tree: [String: Any]) -> String {
        let stored: Set<String> = [
            "id", "adAccountId", "campaignId", "adSetId", "externalId", "createTime", "updateTime", "startTime", "dryRun",
        ]
        func strip(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return object.filter { !stored.contains($0.key) }.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        let data = try? JSONSerialization.data(withJSONObject: strip(tree), options: [.sortedKeys])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    static func fields(_ reply: Reply) -> [String] { CampaignShapeTests.fields(reply) }

    @Test("the wizard through the edge: a dry run answers what the run creates, a key creates once, errors name the nested field")
    func wizardThroughTheEdge() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let token = try await EndToEndTests.register(edge, name: "Wizard").token
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            var dryBody = Self.wizard(account: account)
            dryBody["dryRun"] = true
            let dry = try await edge.send(.POST, "/v1/campaign-trees", json: dryBody, token: token)
            #expect(dry.status == 200 && dry.json["dryRun"] as? Bool == true, "\(dry.text)")
            let none = try await edge.send(.GET, "/v1/campaigns", token: token)
            #expect((none.json["campaigns"] as? [Any] ?? []).isEmpty, "a dry run creates nothing: \(none.text)")

            let key = [("Idempotency-Key", "wizard-\(UUID().uuidString)")]
            let real = try await edge.send(.POST, "/v1/campaign-trees", json: Self.wizard(account: account), token: token, headers: key)
            #expect(real.status == 200, "\(real.text)")
            #expect(Self.shape(dry.json) == Self.shape(real.json), "dry run:\n\(Self.shape(dry.json))\nrun:\n\(Self.shape(real.json))")
            let adSets = real.json["adSets"] as? [[String: Any]] ?? []
            let canada = adSets.last?["adSet"] as? [String: Any] ?? [:]
            #expect(JSONValues.string(canada["effectiveStatus"]) == "CAMPAIGN_PAUSED", "the campaign starts PAUSED: \(canada)")
            #expect((adSets.first?["ads"] as? [[String: Any]])?.map { JSONValues.string($0["name"]) } == ["Red scarf", "Blue scarf"])

            // The same key again: the same tree, nothing more created.
            let again = try await edge.send(.POST, "/v1/campaign-trees", json: Self.wizard(account: account), token: token, headers: key)
            #expect(again.status == 200)
            let campaignID = JSONValues.string((real.json["campaign"] as? [String: Any])?["id"])
            #expect(JSONValues.string((again.json["campaign"] as? [String: Any])?["id"]) == campaignID, "\(again.text)")
            #expect(Self.shape(again.json) == Self.shape(real.json))
            let listed = try await edge.send(.GET, "/v1/campaigns", token: token)
            #expect((listed.json["campaigns"] as? [Any])?.count == 1, "\(listed.text)")
            let ads = try await edge.send(.GET, "/v1/ads", token: token)
            #expect((ads.json["ads"] as? [Any])?.count == 3)
            // The key with another request.
            let reused = try await edge.send(
                .POST, "/v1/campaign-trees", json: Self.wizard(account: account, name: "Other"), token: token, headers: key)
            #expect(reused.status == 422 && Self.fields(reused) == ["idempotency-key"], "\(reused.text)")

            // Errors name the field by its path in the request; nothing is created.
            var badLink = Self.wizard(account: account)
            var trees = badLink["adSets"] as! [[String: Any]]
            trees[1]["ads"] = [["name": "x", "linkUrl": "ftp://shop.example.com"]]
            badLink["adSets"] = trees
            let link = try await edge.send(.POST, "/v1/campaign-trees", json: badLink, token: token)
            #expect(link.status == 400 && Self.fields(link) == ["ad_sets[1].ads[0].link_url"], "\(link.text)")
            var budgeted = Self.wizard(account: account)
            trees = budgeted["adSets"] as! [[String: Any]]
            trees[0]["adSet"] = ["name": "S", "dailyBudget": "100", "targeting": ["countries": ["US"]]]
            budgeted["adSets"] = trees
            let budget = try await edge.send(.POST, "/v1/campaign-trees", json: budgeted, token: token)
            #expect(budget.status == 422 && Self.fields(budget) == ["ad_sets[0].ad_set.daily_budget"], "\(budget.text)")
            #expect(budget.text.contains("the new campaign"), "\(budget.text)")
            var empty = Self.wizard(account: account)
            empty["adSets"] = [[String: Any]]()
            let noAdSets = try await edge.send(.POST, "/v1/campaign-trees", json: empty, token: token)
            #expect(noAdSets.status == 400 && Self.fields(noAdSets) == ["ad_sets"], "\(noAdSets.text)")
            var badName = Self.wizard(account: account, name: " ")
            badName["dryRun"] = true
            let name = try await edge.send(.POST, "/v1/campaign-trees", json: badName, token: token)
            #expect(name.status == 400 && Self.fields(name) == ["campaign.name"], "\(name.text)")
            let after = try await edge.send(.GET, "/v1/campaigns", token: token)
            #expect((after.json["campaigns"] as? [Any])?.count == 1, "\(after.text)")

            // Duplicate: a paused copy of the tree, with new ids on the platform too.
            let copy = try await edge.send(.POST, "/v1/campaigns/\(campaignID)/duplicate", json: [:], token: token)
            #expect(copy.status == 200, "\(copy.text)")
            let copied = copy.json["campaign"] as? [String: Any] ?? [:]
            #expect(JSONValues.string(copied["name"]) == "Spring launch (copy)")
            #expect(JSONValues.string(copied["externalId"]) != JSONValues.string((real.json["campaign"] as? [String: Any])?["externalId"]))
            let copiedSets = copy.json["adSets"] as? [[String: Any]] ?? []
            #expect(copiedSets.map { (($0["ads"] as? [Any]) ?? []).count } == [2, 1])
            #expect(copiedSets.allSatisfy { JSONValues.string(($0["adSet"] as? [String: Any])?["status"]) == "PAUSED" })
            let missing = try await edge.send(.POST, "/v1/campaigns/\(UUID().uuidString.lowercased())/duplicate", json: [:], token: token)
            #expect(missing.status == 404)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("ad strategies: checked as a whole, fill what an ad set leaves empty, and later changes leave ad sets alone")
    func adStrategies() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let token = try await EndToEndTests.register(edge, name: "Strategies").token
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "A", "currency": "USD", "timeZone": "UTC"], token: token)
            func refused(_ body: [String: Any], _ field: String) async throws {
                let reply = try await edge.send(.POST, "/v1/ad-strategies", json: body, token: token)
                #expect(reply.status == 400 && Self.fields(reply) == [field], "\(body): \(reply.text)")
            }
            try await refused(["name": "S", "bidStrategy": "COST_CAP"], "bid_amount")
            try await refused(["name": "S", "bidAmount": "100"], "bid_amount")
            try await refused(["name": "S", "billingEvent": "LINK_CLICKS"], "billing_event")
            try await refused(["name": "S", "dailyBudget": "1", "lifetimeBudget": "1"], "lifetime_budget")
            try await refused(["name": "S", "targeting": ["countries": ["ZZ"]]], "targeting.countries[0]")
            let strategy = try await EndToEndTests.create(
                edge, "/v1/ad-strategies",
                [
                    "name": "Cost cap US", "bidStrategy": "COST_CAP", "bidAmount": "300", "dailyBudget": "2500",
                    "targeting": ["countries": ["US"], "publisherPlatforms": ["facebook", "instagram"]],
                ], token: token)

            // An ad set from the strategy, under a campaign that bids the same way.
            let capped = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "Capped", "objective": "OUTCOME_SALES", "bidStrategy": "COST_CAP"],
                token: token)
            let made = try await edge.send(
                .POST, "/v1/ad-sets", json: ["campaignId": capped, "name": "From strategy", "strategyId": strategy], token: token)
            #expect(made.status == 200, "\(made.text)")
            #expect(JSONValues.string(made.json["dailyBudget"]) == "2500" && JSONValues.string(made.json["bidAmount"]) == "300")
            let targeting = made.json["targeting"] as? [String: Any] ?? [:]
            #expect(targeting["publisherPlatforms"] as? [String] == ["facebook", "instagram"], "\(made.text)")
            // Fields the request sets win.
            let own = try await edge.send(
                .POST, "/v1/ad-sets",
                json: [
                    "campaignId": capped, "name": "Own bid", "strategyId": strategy, "bidAmount": "450", "targeting": ["countries": ["CA"]],
                ],
                token: token)
            #expect(JSONValues.string(own.json["bidAmount"]) == "450", "\(own.text)")
            #expect((own.json["targeting"] as? [String: Any])?["countries"] as? [String] == ["CA"])
            // Under a campaign that bids otherwise: refused, naming the strategy.
            let lowest = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "Lowest", "objective": "OUTCOME_SALES"], token: token)
            let mismatch = try await edge.send(
                .POST, "/v1/ad-sets", json: ["campaignId": lowest, "name": "x", "strategyId": strategy], token: token)
            #expect(mismatch.status == 422 && Self.fields(mismatch) == ["strategy_id"], "\(mismatch.text)")
            let unknown = try await edge.send(
                .POST, "/v1/ad-sets", json: ["campaignId": capped, "name": "x", "strategyId": UUID().uuidString.lowercased()], token: token)
            #expect(unknown.status == 404, "\(unknown.text)")

            // The wizard from the strategy: the campaign takes its bid strategy, the ad sets the rest.
            let tree = try await edge.send(
                .POST, "/v1/campaign-trees",
                json: [
                    "strategyId": strategy,
                    "campaign": ["adAccountId": account, "name": "Wizard", "objective": "OUTCOME_SALES"],
                    "adSets": [["adSet": ["name": "S"], "ads": [["name": "Ad", "linkUrl": "https://shop.example.com/p"]]]],
                ], token: token)
            #expect(tree.status == 200, "\(tree.text)")
            #expect(JSONValues.string((tree.json["campaign"] as? [String: Any])?["bidStrategy"]) == "COST_CAP")
            let treeAdSet = ((tree.json["adSets"] as? [[String: Any]])?.first?["adSet"] as? [String: Any]) ?? [:]
            #expect(JSONValues.string(treeAdSet["bidAmount"]) == "300" && JSONValues.string(treeAdSet["dailyBudget"]) == "2500")

            // A change to the strategy, checked as a whole, leaves the ad sets as they were.
            let bad = try await edge.send(
                .PATCH, "/v1/ad-strategies/\(strategy)", json: ["bidStrategy": "LOWEST_COST_WITHOUT_CAP"], token: token)
            #expect(bad.status == 400 && Self.fields(bad) == ["bid_amount"], "a cap without its strategy: \(bad.text)")
            let changed = try await edge.send(.PATCH, "/v1/ad-strategies/\(strategy)", json: ["bidAmount": "500"], token: token)
            #expect(changed.status == 200 && JSONValues.string(changed.json["bidAmount"]) == "500", "\(changed.text)")
            let kept = try await edge.send(.GET, "/v1/ad-sets/\(JSONValues.string(made.json["id"]))", token: token)
            #expect(JSONValues.string(kept.json["bidAmount"]) == "300")
            let listed = try await edge.send(.GET, "/v1/ad-strategies", token: token)
            #expect((listed.json["adStrategies"] as? [Any])?.count == 1, "\(listed.text)")
            let deleted = try await edge.send(.DELETE, "/v1/ad-strategies/\(strategy)", token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(try await edge.send(.GET, "/v1/ad-strategies/\(strategy)", token: token).status == 404)
            #expect(try await edge.send(.DELETE, "/v1/ad-strategies/\(strategy)", token: token).status == 404)
            let still = try await edge.send(.GET, "/v1/ad-sets/\(JSONValues.string(made.json["id"]))", token: token)
            #expect(still.status == 200 && JSONValues.string(still.json["bidAmount"]) == "300")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test("a platform failure at the last ad leaves no campaign behind, here or live on the platform")
    func failureAtTheLastAd() async throws {
        let database = try await CampaignDatabase.create()
        let platform = FailingAdPlatform(failAdNamed: "Last")
        try await database.withAppClient(connections: 2) { db in
            let handlers = CampaignHandlers(db: db, verifier: TokenVerifier(fetchKeys: { [:] }), platform: platform, vault: try .random())
            let sellerID = UUID()
            let context = PlatformStallTests.context(sellerID: sellerID)
            let account = try await handlers.createAdAccount(
                .with {
                    $0.name = "A"
                    $0.currency = "USD"
                    $0.timeZone = "UTC"
                }, context: context)
            let request = Pixecom_Campaign_V1_CreateCampaignTreeRequest.with {
                $0.campaign = .with {
                    $0.adAccountID = account.id
                    $0.name = "C"
                    $0.objective = "OUTCOME_SALES"
                    $0.dailyBudget = 5000
                }
                $0.adSets = (0..<3).map { index in
                    .with {
                        $0.adSet = .with {
                            $0.name = "S\(index)"
                            $0.targeting.countries = ["US"]
                        }
                        $0.ads = (0..<2).map { adIndex in
                            .with {
                                $0.name = index == 2 && adIndex == 1 ? "Last" : "Ad \(index).\(adIndex)"
                                $0.linkURL = "https://shop.example.com/\(index)/\(adIndex)"
                            }
                        }
                    }
                }
            }
            let error = await #expect(throws: RPCError.self) { try await handlers.createCampaignTree(request, context: context) }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(platform.createdAds == 5, "the platform made the five ads before the last")
            let listed = try await handlers.listCampaigns(.with { $0.status = .deleted }, context: context)
            let live = try await handlers.listCampaigns(.init(), context: context)
            #expect(listed.campaigns.isEmpty && live.campaigns.isEmpty, "no row, not even a deleted one")
            // Everything the platform made is DELETED there.
            let statuses = try await TestDatabases.withClient(database.urls.admin) { owner in
                var statuses: Set<String> = []
                for try await (kind, status) in try await owner.query(
                    "SELECT kind, status FROM sandbox_objects WHERE seller_id = \(sellerID) AND kind IN ('campaign', 'ad_set', 'ad')"
                ).decode((String, String).self) {
                    statuses.insert("\(kind) \(status)")
                }
                return statuses
            }
            #expect(statuses == ["campaign DELETED", "ad_set DELETED", "ad DELETED"], "\(statuses)")

            // The same request without the failure creates the whole tree.
            platform.failing = false
            let tree = try await handlers.createCampaignTree(request, context: context)
            #expect(tree.adSets.map(\.ads.count) == [2, 2, 2])
            #expect(tree.adSets.last?.ads.last?.name == "Last")
        }
    }

    @Test("bulk changes: each one applies or fails on its own, in request order, named with its reason")
    func bulkChanges() async throws {
        let database = try await CampaignDatabase.create()
        try await database.withAppClient(connections: 4) { db in
            let handlers = CampaignHandlers(
                db: db, verifier: TokenVerifier(fetchKeys: { [:] }), platform: SandboxAdPlatform(), vault: try .random())
            let context = PlatformStallTests.context(sellerID: UUID())
            let other = PlatformStallTests.context(sellerID: UUID())
            func tree(_ context: ServerContext, ads: Int) async throws -> Pixecom_Campaign_V1_CampaignTree {
                let account = try await handlers.createAdAccount(
                    .with {
                        $0.name = "A"
                        $0.currency = "USD"
                        $0.timeZone = "UTC"
                    }, context: context)
                return try await handlers.createCampaignTree(
                    .with {
                        $0.campaign = .with {
                            $0.adAccountID = account.id
                            $0.name = "C"
                            $0.objective = "OUTCOME_SALES"
                            $0.dailyBudget = 5000
                        }
                        $0.adSets = [
                            .with {
                                $0.adSet = .with {
                                    $0.name = "S"
                                    $0.targeting.countries = ["US"]
                                }
                                $0.ads = (0..<ads).map { index in
                                    .with {
                                        $0.name = "Ad \(index)"
                                        $0.linkURL = "https://shop.example.com/\(index)"
                                    }
                                }
                            }
                        ]
                    }, context: context)
            }
            let mine = try await tree(context, ads: 40)
            let theirs = try await tree(other, ads: 1)
            let ads = mine.adSets[0].ads.map(\.id)
            _ = try await handlers.updateAd(
                .with {
                    $0.id = ads[3]
                    $0.status = .deleted
                    $0.updateMask = "status"
                }, context: context)
            var changes: [Pixecom_Campaign_V1_BulkChange] = ads.map { id in
                .with {
                    $0.kind = .ad
                    $0.id = id
                    $0.status = .active
                }
            }
            changes.append(
                .with {
                    $0.kind = .ad
                    $0.id = theirs.adSets[0].ads[0].id
                    $0.status = .active
                })
            changes.append(
                .with {
                    $0.kind = .campaign
                    $0.id = mine.campaign.id
                    $0.dailyBudget = 9000
                    $0.status = .active
                })
            changes.append(
                .with {
                    $0.kind = .adSet
                    $0.id = mine.adSets[0].adSet.id
                    $0.dailyBudget = 100
                })
            let response = try await handlers.bulkUpdate(.with { $0.changes = changes }, context: context)
            #expect(response.results.map(\.id) == changes.map(\.id), "results in request order")
            #expect(response.succeeded == 40 && response.failed == 3, "\(response.results.filter { $0.code != "OK" })")
            #expect(response.results[3].code == "FAILED_PRECONDITION", "a deleted ad stays deleted: \(response.results[3])")
            #expect(response.results[40].code == "NOT_FOUND", "another seller's ad is missing: \(response.results[40])")
            #expect(response.results[41].code == "OK" && response.results[41].dailyBudget == 9000)
            #expect(response.results[42].code == "FAILED_PRECONDITION" && response.results[42].field == "daily_budget")
            let first = try await handlers.getAd(.with { $0.id = ads[0] }, context: context)
            #expect(first.status == .active && first.effectiveStatus == "ADSET_PAUSED", "the ad is ACTIVE, its ad set still PAUSED")
            let theirAd = try await handlers.getAd(.with { $0.id = theirs.adSets[0].ads[0].id }, context: other)
            #expect(theirAd.status == .paused, "the other seller's ad is untouched")

            // Malformed as a whole: nothing applies.
            let twice = await #expect(throws: RPCError.self) {
                try await handlers.bulkUpdate(.with { $0.changes = [changes[0], changes[1], changes[0]] }, context: context)
            }
            #expect(twice?.fieldViolations.first?.field == "changes[2].id", "\(String(describing: twice))")
            let tooMany = await #expect(throws: RPCError.self) {
                try await handlers.bulkUpdate(.with { $0.changes = Array(repeating: changes[0], count: 501) }, context: context)
            }
            #expect(tooMany?.fieldViolations.first?.field == "changes")
            let nothing = await #expect(throws: RPCError.self) {
                try await handlers.bulkUpdate(
                    .with {
                        $0.changes = [
                            .with {
                                $0.kind = .ad; $0.id = ads[0]
                            }
                        ]
                    }, context: context)
            }
            #expect(nothing?.fieldViolations.first?.field == "changes[0]")
        }
    }
}

/// The sandbox platform, failing (UNAVAILABLE, as an outage would) to create the ad named
/// `failAdNamed` while `failing` is set; counts the ads it created.
final class FailingAdPlatform: AdPlatform, @unchecked Sendable {
    let name = "sandbox"
    private let sandbox = SandboxAdPlatform()
    private let failAdNamed: String
    private let lock = NSLock()
    private var _failing = true
    private var _createdAds = 0

    init(failAdNamed: String) { self.failAdNamed = failAdNamed }

    var failing: Bool {
        get { self.lock.withLock { self._failing } }
        set { self.lock.withLock { self._failing = newValue } }
    }

    var createdAds: Int { self.lock.withLock { self._createdAds } }

    let signsInWithoutToken = true

    func connect(accessToken: String, call: AdPlatformCall) async throws -> PlatformGrant {
        try await self.sandbox.connect(accessToken: accessToken, call: call)
    }

    func createAdAccount(_ spec: AdAccountSpec, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        try await self.sandbox.createAdAccount(spec, owner: owner, call: call)
    }

    func adAccount(_ externalID: String, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        try await self.sandbox.adAccount(externalID, owner: owner, call: call)
    }

    func createCampaign(_ spec: CampaignSpec, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        try await self.sandbox.createCampaign(spec, inAccount: accountID, call: call)
    }

    func createAdSet(_ spec: AdSetSpec, inCampaign campaignID: String, call: AdPlatformCall) async throws -> String {
        try await self.sandbox.createAdSet(spec, inCampaign: campaignID, call: call)
    }

    func createCreative(_ spec: PlatformCreative, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        try await self.sandbox.createCreative(spec, inAccount: accountID, call: call)
    }

    func createAd(_ spec: AdSpec, inAdSet adSetID: String, call: AdPlatformCall) async throws -> String {
        if self.failing, spec.name == self.failAdNamed {
            throw AdPlatformError(.unavailable, "injected failure creating \(spec.name)")
        }
        let id = try await self.sandbox.createAd(spec, inAdSet: adSetID, call: call)
        self.lock.withLock { self._createdAds += 1 }
        return id
    }

    func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall) async throws {
        try await self.sandbox.updateStatus(of: externalID, to: status, call: call)
    }

    func updateSettings(of externalID: String, _ settings: PlatformSettings, call: AdPlatformCall) async throws {
        try await self.sandbox.updateSettings(of: externalID, settings, call: call)
    }
}
