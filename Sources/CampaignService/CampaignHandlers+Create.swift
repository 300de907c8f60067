import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// The Create* methods: validate, lock the seller's parent, create the object on the ad platform,
/// store it with the platform's id, all in one transaction.
extension CampaignHandlers {
    func createAdAccount(
        _ request: Pixecom_Campaign_V1_CreateAdAccountRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdAccount {
        let caller = try await self.caller(context)
        let spec = AdAccountSpec(
            name: try CampaignValidation.name(request.name),
            currency: try RequestValidation.currency(request.currency),
            timeZone: try CampaignValidation.timeZone(request.timeZone)
        )
        let account = try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await PlanQuota.requireRoom(
                in: AdAccountRecord.table, limit: PlanLimits.of(plan: caller.plan).adAccounts, plan: caller.plan,
                sellerID: caller.sellerID, on: connection, logger: caller.logger)
            let externalID = try await self.onPlatform {
                try await self.platform.createAdAccount(spec, call: self.call(caller, connection))
            }
            return try await AdAccountStore.insert(
                spec, platform: self.platform.name, externalID: externalID,
                sellerID: caller.sellerID, on: connection, logger: caller.logger
            )
        }
        Self.logCreated(AdAccountRecord.table, account.id, account.externalID, caller)
        return account.message
    }

    func createCampaign(
        _ request: Pixecom_Campaign_V1_CreateCampaignRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_Campaign {
        let caller = try await self.caller(context)
        let adAccountID = try RequestValidation.id(request.adAccountID, field: "ad_account_id")
        let spec = CampaignSpec(
            name: try CampaignValidation.name(request.name),
            objective: try CampaignValidation.objective(request.objective),
            dailyBudget: try CampaignValidation.dailyBudget(request.dailyBudget),
            status: try CampaignValidation.initialStatus(request.status)
        )
        let campaign = try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let account = try await ObjectQueries.require(
                AdAccountRecord.self, sellerID: caller.sellerID, id: adAccountID, lock: .share, on: connection, logger: caller.logger
            )
            try await PlanQuota.requireRoom(
                in: CampaignRecord.table, limit: PlanLimits.of(plan: caller.plan).campaigns, plan: caller.plan,
                sellerID: caller.sellerID, on: connection, logger: caller.logger)
            let externalID = try await self.onPlatform {
                try await self.platform.createCampaign(spec, inAccount: account.externalID, call: self.call(caller, connection))
            }
            return try await CampaignStore.insert(
                spec, adAccountID: account.id, externalID: externalID,
                sellerID: caller.sellerID, on: connection, logger: caller.logger
            )
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
        let spec = AdSetSpec(
            name: try CampaignValidation.name(request.name),
            dailyBudget: try CampaignValidation.dailyBudget(request.dailyBudget),
            status: try CampaignValidation.initialStatus(request.status)
        )
        let adSet = try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let campaign = try await ObjectQueries.require(
                CampaignRecord.self, sellerID: caller.sellerID, id: campaignID, lock: .share, on: connection, logger: caller.logger
            )
            try Self.checkAcceptsChildren(campaign)
            let externalID = try await self.onPlatform {
                try await self.platform.createAdSet(spec, inCampaign: campaign.externalID, call: self.call(caller, connection))
            }
            return try await AdSetStore.insert(
                spec, campaignID: campaign.id, externalID: externalID,
                sellerID: caller.sellerID, on: connection, logger: caller.logger
            )
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
        let spec = AdSpec(
            name: try CampaignValidation.name(request.name),
            linkURL: try CampaignValidation.linkURL(request.linkURL),
            status: try CampaignValidation.initialStatus(request.status)
        )
        let ad = try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let adSet = try await ObjectQueries.require(
                AdSetRecord.self, sellerID: caller.sellerID, id: adSetID, lock: .share, on: connection, logger: caller.logger
            )
            try Self.checkAcceptsChildren(adSet)
            let externalID = try await self.onPlatform {
                try await self.platform.createAd(spec, inAdSet: adSet.externalID, call: self.call(caller, connection))
            }
            return try await AdStore.insert(
                spec, in: adSet, externalID: externalID, sellerID: caller.sellerID, on: connection, logger: caller.logger)
        }
        Self.logCreated(AdRecord.table, ad.id, ad.externalID, caller)
        return ad.message
    }

    /// FAILED_PRECONDITION when `parent` is ARCHIVED or DELETED: nothing new goes under it.
    private static func checkAcceptsChildren<Parent: StatusBearingObject>(_ parent: Parent) throws {
        guard parent.status.acceptsChildren else {
            throw RPCError(
                .failedPrecondition,
                "\(Parent.table.describe(parent.id)) is \(parent.status.rawValue); new children need an ACTIVE or PAUSED parent"
            )
        }
    }

    private static func logCreated(_ table: ObjectTable, _ id: UUID, _ externalID: String, _ caller: Caller) {
        caller.logger.info(
            "object.created",
            metadata: ["object.kind": "\(table.noun)", "object.id": "\(id.wireText)", "object.external_id": "\(externalID)"]
        )
    }
}
