import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit
import SwiftProtobuf

/// A campaign tree checked and ready to create: the campaign, and its ad sets each with its ads,
/// in request order.
struct TreePlan: Sendable {
    struct AdSetPlan: Sendable {
        var spec: AdSetSpec
        var ads: [AdSpec]
    }

    var account: AdAccountRecord
    var campaign: CampaignSpec
    var adSets: [AdSetPlan]

    /// FAILED_PRECONDITION naming the ad set whose ads exceed the plan's ads per ad set.
    func requireAdRoom(plan: String) throws {
        let limit = PlanLimits.of(plan: plan).adsPerAdSet
        for (index, adSet) in self.adSets.enumerated() where adSet.ads.count > limit {
            throw RPCError(
                .failedPrecondition,
                "ad_sets[\(index)].ads: the \(plan.lowercased()) plan allows \(limit) ads per ad set; this one would have \(adSet.ads.count). Upgrade the plan to add more"
            )
        }
    }
}

/// The ids the platform gave a tree's objects, in the plan's order.
struct TreeExternalIDs: Sendable {
    var campaign: String
    var adSets: [(adSet: String, ads: [String])] = []
}

/// CreateCampaignTree (the creation wizard) and DuplicateCampaign: a whole tree, or nothing.
///
/// 1. Everything is checked first (each bad field named by its path in the request, e.g.
///    `ad_sets[1].ads[0].link_url`), the plan's room read.
/// 2. The platform creates the campaign, then each ad set and its ads. If any of it fails, the
///    platform's new campaign is deleted again (which deletes what it holds) and the error
///    answered: nothing was stored.
/// 3. One transaction stores the tree (and the idempotency key, when one came), checking the
///    account and the plan again. If it fails, the platform's campaign is deleted again.
///
/// No transaction is open while the platform works. A crash between 2 and 3 leaves the platform
/// objects without rows, as for single creates (see `CampaignHandlers+Create`).
extension CampaignHandlers {
    static let maximumTreeAdSets = 50
    static let maximumTreeAdsPerAdSet = 50
    static let maximumTreeAds = 250

    func createCampaignTree(
        _ request: Pixecom_Campaign_V1_CreateCampaignTreeRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_CampaignTree {
        let caller = try await self.caller(context)
        let key = try CreationKey(context.metadata, method: "CreateCampaignTree", request: request)
        guard request.hasCampaign else {
            throw RPCError.invalidArgument(field: "campaign", "is required: the campaign to create, with its ad_account_id")
        }
        let adAccountID = try RequestValidation.id(request.campaign.adAccountID, field: "campaign.ad_account_id")
        // Strategies first: they fill what the ad sets (and the campaign's bid strategy) leave
        // empty, before anything is checked.
        var request = request
        let shared = try await self.strategy(request.strategyID, field: "strategy_id", caller)
        var strategies: [(strategy: AdStrategyRecord, field: String)] = shared.map { [($0, "strategy_id")] } ?? []
        for index in request.adSets.indices {
            let field = "ad_sets[\(index)].ad_set.strategy_id"
            guard let strategy = try await self.strategy(request.adSets[index].adSet.strategyID, field: field, caller) ?? shared else {
                continue
            }
            if strategy.id != shared?.id { strategies.append((strategy, field)) }
            strategy.fill(&request.adSets[index].adSet)
        }
        if request.campaign.bidStrategy.isEmpty, let shared { request.campaign.bidStrategy = shared.spec.bidStrategy }
        let campaign = try FieldPath.within("campaign.") { try CampaignSpec(request.campaign) }
        let creatives = try await self.creatives(of: request.adSets, caller)
        let drafts = try Self.drafts(request.adSets, creatives: creatives)
        let account = try await self.objects.get(AdAccountRecord.self, id: adAccountID, sellerID: caller.sellerID, logger: caller.logger)
        try account.requireConnected()
        let planned = CampaignRecord(planned: campaign, id: UUID(), adAccountID: account.id, at: Date())
        for (strategy, field) in strategies { try strategy.check(against: planned, field: field) }
        var adSets: [TreePlan.AdSetPlan] = []
        for (index, (draft, ads)) in drafts.enumerated() {
            let spec = try FieldPath.within("ad_sets[\(index)].ad_set.") { try draft.spec(under: planned) }
            adSets.append(TreePlan.AdSetPlan(spec: spec, ads: ads))
        }
        let plan = TreePlan(account: account, campaign: campaign, adSets: adSets)
        if request.dryRun {
            try plan.requireAdRoom(plan: caller.plan)
            let quota = PlanQuota(CampaignRecord.table, plan: caller.plan) { $0.campaigns }
            try await self.objects.requireRoom(quota, sellerID: caller.sellerID, logger: caller.logger)
            return plan.dryRun(planned)
        }
        return try await self.create(plan, key: key, caller)
    }

    func duplicateCampaign(
        _ request: Pixecom_Campaign_V1_DuplicateCampaignRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_CampaignTree {
        let caller = try await self.caller(context)
        let key = try CreationKey(context.metadata, method: "DuplicateCampaign", request: request)
        let id = try RequestValidation.id(request.id, field: "id")
        let name = request.name.isEmpty ? nil : try CampaignValidation.name(request.name)
        let status = try CampaignValidation.initialStatus(request.status)
        let original = try await self.objects.tree(campaignID: id, sellerID: caller.sellerID, logger: caller.logger)
        guard original.campaign.status != .deleted else {
            throw RPCError(.failedPrecondition, "\(CampaignRecord.table.describe(id)) is DELETED and cannot be copied")
        }
        let account = try await self.objects.get(
            AdAccountRecord.self, id: original.campaign.adAccountID, sellerID: caller.sellerID, logger: caller.logger)
        try account.requireConnected()
        let plan = TreePlan(
            account: account,
            campaign: original.copiedCampaign(name: name ?? String((original.campaign.name + " (copy)").prefix(200)), status: status),
            adSets: try original.copiedAdSets(status: status))
        return try await self.create(plan, key: key, caller)
    }

    /// The creatives the tree's ads name, by id (NOT_FOUND naming the ad's field for one that is
    /// not the seller's).
    private func creatives(of trees: [Pixecom_Campaign_V1_AdSetTree], _ caller: Caller) async throws -> [UUID: CreativeRecord] {
        var found: [UUID: CreativeRecord] = [:]
        for (index, tree) in trees.enumerated() {
            for (adIndex, ad) in tree.ads.enumerated() where !ad.creativeID.isEmpty {
                let id = try RequestValidation.id(ad.creativeID, field: "ad_sets[\(index)].ads[\(adIndex)].creative_id")
                if found[id] == nil {
                    found[id] = try await self.objects.get(CreativeRecord.self, id: id, sellerID: caller.sellerID, logger: caller.logger)
                }
            }
        }
        return found
    }

    /// The ad sets of a tree request, each checked on its own with its ads (an ad from a creative
    /// takes its link, unless it names one, and its url_tags).
    private static func drafts(
        _ trees: [Pixecom_Campaign_V1_AdSetTree], creatives: [UUID: CreativeRecord] = [:]
    ) throws -> [(AdSetDraft, [AdSpec])] {
        guard (1...Self.maximumTreeAdSets).contains(trees.count) else {
            throw RPCError.invalidArgument(field: "ad_sets", "must hold 1 to \(Self.maximumTreeAdSets) ad sets, got \(trees.count)")
        }
        let total = trees.reduce(0) { $0 + $1.ads.count }
        guard total <= Self.maximumTreeAds else {
            throw RPCError.invalidArgument(field: "ad_sets", "must hold at most \(Self.maximumTreeAds) ads in all, got \(total)")
        }
        return try trees.enumerated().map { index, tree in
            let path = "ad_sets[\(index)]"
            guard tree.hasAdSet else { throw RPCError.invalidArgument(field: "\(path).ad_set", "is required") }
            guard tree.adSet.campaignID.isEmpty else {
                throw RPCError.invalidArgument(field: "\(path).ad_set.campaign_id", "must be empty: the ad set goes under the new campaign")
            }
            let draft = try FieldPath.within("\(path).ad_set.") { try AdSetDraft(tree.adSet) }
            guard (1...Self.maximumTreeAdsPerAdSet).contains(tree.ads.count) else {
                throw RPCError.invalidArgument(
                    field: "\(path).ads", "must hold 1 to \(Self.maximumTreeAdsPerAdSet) ads, got \(tree.ads.count)")
            }
            let ads = try tree.ads.enumerated().map { adIndex, ad in
                guard ad.adSetID.isEmpty else {
                    throw RPCError.invalidArgument(
                        field: "\(path).ads[\(adIndex)].ad_set_id", "must be empty: the ad goes under the new ad set")
                }
                var ad = ad
                let creative = UUID(uuidString: ad.creativeID).flatMap { creatives[$0] }
                if let creative, ad.linkURL.isEmpty { ad.linkURL = creative.linkURL }
                var spec = try FieldPath.within("\(path).ads[\(adIndex)].") { try AdSpec(ad) }
                spec.creativeID = creative?.id
                spec.urlTags = creative?.urlTags ?? ""
                return spec
            }
            return (draft, ads)
        }
    }

    /// Steps 2 and 3 (the type's comment); a key already used answers the tree it created.
    private func create(_ plan: TreePlan, key: CreationKey?, _ caller: Caller) async throws -> Pixecom_Campaign_V1_CampaignTree {
        let logger = caller.logger
        if let key, let earlier = try await self.objects.campaign(createdWith: key, sellerID: caller.sellerID, logger: logger) {
            return try await self.objects.tree(campaignID: earlier, sellerID: caller.sellerID, logger: logger).message
        }
        try plan.requireAdRoom(plan: caller.plan)
        let quota = PlanQuota(CampaignRecord.table, plan: caller.plan) { $0.campaigns }
        try await self.objects.requireRoom(quota, sellerID: caller.sellerID, logger: logger)
        let plan = try await self.publishingCreatives(of: plan, caller)
        let external = try await self.createOnPlatform(plan, caller)
        let stored: ObjectStore.StoredTree
        do {
            stored = try await self.objects.insertTree(
                plan, external: external, key: key, quota: quota, sellerID: caller.sellerID, logger: logger)
        } catch {
            await self.discardOnPlatform(external.campaign, caller)
            throw error
        }
        switch stored {
        case .created(let tree):
            logger.info(
                "object.tree_created",
                metadata: [
                    "object.id": "\(tree.campaign.id.wireText)", "object.external_id": "\(tree.campaign.externalID)",
                    "tree.ad_sets": "\(tree.adSets.count)", "tree.ads": "\(tree.adSets.reduce(0) { $0 + $1.ads.count })",
                ])
            return tree.message
        case .createdEarlier(let campaignID):
            // A concurrent request with the same key stored its tree first: this one's platform
            // objects go, and the answer is that tree.
            await self.discardOnPlatform(external.campaign, caller)
            return try await self.objects.tree(campaignID: campaignID, sellerID: caller.sellerID, logger: logger).message
        }
    }

    /// Creates the plan's objects on the platform; on a failure, deletes what it created and
    /// throws the failure with the field path of the object it concerned.
    private func createOnPlatform(_ plan: TreePlan, _ caller: Caller) async throws -> TreeExternalIDs {
        let campaign = try await FieldPath.within("campaign.") {
            try await self.onPlatform {
                try await self.platform.createCampaign(plan.campaign, inAccount: plan.account.externalID, call: self.call(caller))
            }
        }
        var external = TreeExternalIDs(campaign: campaign)
        do {
            for (index, adSet) in plan.adSets.enumerated() {
                let adSetID = try await FieldPath.within("ad_sets[\(index)].ad_set.") {
                    try await self.onPlatform {
                        try await self.platform.createAdSet(adSet.spec, inCampaign: campaign, call: self.call(caller))
                    }
                }
                var ads: [String] = []
                for (adIndex, ad) in adSet.ads.enumerated() {
                    ads.append(
                        try await FieldPath.within("ad_sets[\(index)].ads[\(adIndex)].") {
                            try await self.onPlatform {
                                try await self.platform.createAd(
                                    ad.forPlatform(campaignID: plan.campaign.id, adSetID: adSet.spec.id), inAdSet: adSetID,
                                    call: self.call(caller))
                            }
                        })
                }
                external.adSets.append((adSetID, ads))
            }
        } catch {
            await self.discardOnPlatform(campaign, caller)
            throw error
        }
        return external
    }

    /// Deletes a campaign (and so all it holds) on the platform, best effort: a failure is
    /// logged, and leaves an orphan for the reconciliation that is not built yet.
    private func discardOnPlatform(_ externalID: String, _ caller: Caller) async {
        do {
            try await self.platform.updateStatus(of: externalID, to: .deleted, call: self.call(caller))
        } catch {
            caller.logger.warning(
                "object.platform_orphan", metadata: ["object.external_id": "\(externalID)", "error": "\(String(reflecting: error))"])
        }
    }
}

/// An `idempotency-key` of a tree creation: the key, and a fingerprint of the request it came
/// with (method and serialized request), so that a key reused for another request is refused.
struct CreationKey: Sendable {
    static let field = "idempotency-key"
    static let maximumLength = 255

    var key: String
    var method: String
    var request: [UInt8]

    /// nil when the call carries no key.
    init?(_ metadata: [String: String], method: String, request: some SwiftProtobuf.Message) throws {
        guard let key = metadata[Self.field] else { return nil }
        // Counted in code points, as the column's CHECK and JSON Schema's maxLength count; NUL
        // cannot be stored (and cannot arrive in an HTTP header).
        guard (1...Self.maximumLength).contains(key.unicodeScalars.count), !key.unicodeScalars.contains("\u{0}") else {
            throw RPCError.invalidArgument(field: Self.field, "must be 1 to \(Self.maximumLength) characters, without NUL")
        }
        self.key = key
        self.method = method
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        self.request = try request.serializedBytes(options: options)
    }
}

/// Rewrites the fields an error names into paths within a larger request.
enum FieldPath {
    static func within<Result>(_ prefix: String, _ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as RPCError {
            throw Self.prefixed(error, prefix)
        }
    }

    static func within<Result: Sendable>(_ prefix: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as RPCError {
            throw Self.prefixed(error, prefix)
        }
    }

    private static func prefixed(_ error: RPCError, _ prefix: String) -> RPCError {
        var error = error
        for (index, violation) in error.fieldViolations.enumerated() {
            if error.message.hasPrefix("\(violation.field):") {
                error.message = prefix + error.message
            }
            error.fieldViolations[index].field = prefix + violation.field
        }
        return error
    }
}
