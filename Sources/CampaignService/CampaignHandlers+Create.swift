import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// The Create* methods, in three steps so that no transaction is open and no row locked while the
/// ad platform works (it may take seconds, and a held pool connection would starve every other
/// call):
///
/// 1. read: the parent exists, is the seller's and takes children; the plan has room;
/// 2. create the object on the platform;
/// 3. store it with the platform's id, in one transaction that checks step 1 again under locks
///    (`ObjectStore+Create`). When that check fails (the parent was archived or deleted, or a
///    concurrent create took the last place in the plan), nothing is stored and the platform's
///    object is deleted again.
///
/// A crash between 2 and 3 leaves an object on the platform that no row names: the caller saw no
/// answer and retries, creating another. The orphan stays as created (ACTIVE or PAUSED, under a
/// parent the seller owns) until a reconciliation of the platform's objects against the rows
/// removes it; that sweep is not built yet. The alternative, a row reserved before the call,
/// would need a pending state visible to every read; orphans are the rarer, cheaper failure.
extension CampaignHandlers {
    func createCampaign(
        _ request: Pixecom_Campaign_V1_CreateCampaignRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_Campaign {
        let caller = try await self.caller(context)
        let adAccountID = try RequestValidation.id(request.adAccountID, field: "ad_account_id")
        let spec = try CampaignSpec(request)
        let account = try await self.objects.get(AdAccountRecord.self, id: adAccountID, sellerID: caller.sellerID, logger: caller.logger)
        try account.requireConnected()
        let quota = PlanQuota(CampaignRecord.table, plan: caller.plan) { $0.campaigns }
        try await self.objects.requireRoom(quota, sellerID: caller.sellerID, logger: caller.logger)
        let externalID = try await self.onPlatform {
            try await self.platform.createCampaign(spec, inAccount: account.externalID, call: self.call(caller))
        }
        let campaign = try await self.undoingOnPlatform(externalID, caller) {
            try await self.objects.insertCampaign(
                spec, adAccountID: account.id, externalID: externalID, quota: quota, sellerID: caller.sellerID, logger: caller.logger)
        }
        Self.logCreated(CampaignRecord.table, campaign.id, campaign.externalID, caller)
        return campaign.message
    }

    func createAdSet(
        _ request: Pixecom_Campaign_V1_CreateAdSetRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdSet {
        let caller = try await self.caller(context)
        let campaignID = try RequestValidation.id(request.campaignID, field: "campaign_id")
        var request = request
        let strategy = try await self.strategy(request.strategyID, field: "strategy_id", caller)
        strategy?.fill(&request)
        let draft = try AdSetDraft(request)
        let campaign = try await self.objects.get(CampaignRecord.self, id: campaignID, sellerID: caller.sellerID, logger: caller.logger)
        try campaign.requireAcceptsChildren()
        try strategy?.check(against: campaign, field: "strategy_id")
        let spec = try draft.spec(under: campaign)
        let externalID = try await self.onPlatform {
            try await self.platform.createAdSet(spec, inCampaign: campaign.externalID, call: self.call(caller))
        }
        let adSet = try await self.undoingOnPlatform(externalID, caller) {
            try await self.objects.insertAdSet(
                spec, campaignID: campaign.id, externalID: externalID, sellerID: caller.sellerID, logger: caller.logger)
        }
        Self.logCreated(AdSetRecord.table, adSet.id, adSet.externalID, caller)
        return adSet.message
    }

    func createAd(
        _ request: Pixecom_Campaign_V1_CreateAdRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_Ad {
        let caller = try await self.caller(context)
        let adSetID = try RequestValidation.id(request.adSetID, field: "ad_set_id")
        // From a creative: its link unless the request names one, and its url_tags.
        var request = request
        var creative: CreativeRecord?
        if !request.creativeID.isEmpty {
            let creativeID = try RequestValidation.id(request.creativeID, field: "creative_id")
            creative = try await self.objects.get(CreativeRecord.self, id: creativeID, sellerID: caller.sellerID, logger: caller.logger)
            if request.linkURL.isEmpty { request.linkURL = creative?.linkURL ?? "" }
        }
        var spec = try AdSpec(request)
        spec.creativeID = creative?.id
        spec.urlTags = creative?.urlTags ?? ""
        let adSet = try await self.objects.get(AdSetRecord.self, id: adSetID, sellerID: caller.sellerID, logger: caller.logger)
        try adSet.requireAcceptsChildren()
        let quota = PlanQuota.ads(inAdSet: adSet.id, plan: caller.plan)
        try await self.objects.requireRoom(quota, sellerID: caller.sellerID, logger: caller.logger)
        if let creative {
            let campaign = try await self.campaign(of: adSet, context)
            let account = try await self.objects.get(
                AdAccountRecord.self, id: campaign.adAccountID, sellerID: caller.sellerID, logger: caller.logger)
            spec.platformCreativeID = try await self.publish(creative, account: account.id, accountExternalID: account.externalID, caller)
        }
        let sent = spec.forPlatform(campaignID: adSet.campaignID, adSetID: adSet.id)
        let externalID = try await self.onPlatform {
            try await self.platform.createAd(sent, inAdSet: adSet.externalID, call: self.call(caller))
        }
        let ad = try await self.undoingOnPlatform(externalID, caller) {
            try await self.objects.insertAd(
                spec, adSetID: adSet.id, externalID: externalID, quota: quota, sellerID: caller.sellerID, logger: caller.logger)
        }
        Self.logCreated(AdRecord.table, ad.id, ad.externalID, caller)
        return ad.message
    }

    /// Runs `store`; when it fails, deletes the platform's new object `externalID` (best effort:
    /// a failure to delete is logged, the store's error is what the caller gets).
    private func undoingOnPlatform<Object: Sendable>(
        _ externalID: String,
        _ caller: Caller,
        _ store: () async throws -> Object
    ) async throws -> Object {
        do {
            return try await store()
        } catch {
            do {
                try await self.platform.updateStatus(of: externalID, to: .deleted, call: self.call(caller))
            } catch let undo {
                caller.logger.warning(
                    "object.platform_orphan",
                    metadata: ["object.external_id": "\(externalID)", "error": "\(String(reflecting: undo))"])
            }
            throw error
        }
    }

    static func logCreated(_ table: ObjectTable, _ id: UUID, _ externalID: String, _ caller: Caller) {
        caller.logger.info(
            "object.created",
            metadata: ["object.kind": "\(table.noun)", "object.id": "\(id.wireText)", "object.external_id": "\(externalID)"]
        )
    }
}

extension CampaignSpec {
    /// The campaign a create asks for, each bad field named.
    init(_ request: Pixecom_Campaign_V1_CreateCampaignRequest) throws {
        let name = try CampaignValidation.name(request.name)
        let objective = try CampaignValidation.objective(request.objective)
        let budget = try CampaignValidation.budget(daily: request.dailyBudget, lifetime: request.lifetimeBudget)
        self.init(
            name: name,
            objective: objective,
            dailyBudget: budget?.daily,
            lifetimeBudget: budget?.lifetime,
            bidStrategy: try CampaignValidation.bidStrategy(request.bidStrategy),
            specialAdCategories: try CampaignValidation.specialAdCategories(request.specialAdCategories),
            status: try CampaignValidation.initialStatus(request.status)
        )
    }
}

extension AdSpec {
    init(_ request: Pixecom_Campaign_V1_CreateAdRequest) throws {
        self.init(
            name: try CampaignValidation.name(request.name),
            linkURL: try CampaignValidation.linkURL(request.linkURL),
            status: try CampaignValidation.initialStatus(request.status)
        )
    }
}
