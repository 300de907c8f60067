import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Ad texts and creatives. Neither changes once made (a new version is a new object); an ad made
/// from a creative (`creative_id` on CreateAd) takes its link and url_tags.
extension CampaignHandlers {
    func createAdText(_ request: Pixecom_Campaign_V1_CreateAdTextRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdText
    {
        let caller = try await self.caller(context)
        let text = try AdTextRecord(request)
        return try await self.creatives.insert(text, caller: caller).message
    }

    func getAdText(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdText {
        try await self.get(AdTextRecord.self, request, context: context).message
    }

    func listAdTexts(_ request: Pixecom_Campaign_V1_ListRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListAdTextsResponse
    {
        let page = try await self.listTopLevel(AdTextRecord.self, request, plural: "ad texts", context: context)
        return .with {
            $0.adTexts = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    /// Idempotent: deleting an ad text that is gone answers NOT_FOUND, which a retry may see.
    func deleteAdText(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DeleteAdTextResponse
    {
        try await self.delete(AdTextRecord.self, request, context: context) { try await self.creatives.deleteAdText($0, caller: $1) }
        return .init()
    }

    func createCreative(_ request: Pixecom_Campaign_V1_CreateCreativeRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_Creative
    {
        let caller = try await self.caller(context)
        let creative = try CreativeRecord(request)
        return try await self.creatives.insert(creative, caller: caller).message
    }

    func getCreative(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Creative {
        try await self.get(CreativeRecord.self, request, context: context).message
    }

    func listCreatives(_ request: Pixecom_Campaign_V1_ListRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListCreativesResponse
    {
        let page = try await self.listTopLevel(CreativeRecord.self, request, plural: "creatives", context: context)
        return .with {
            $0.creatives = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    /// Idempotent: deleting a creative that is gone answers NOT_FOUND, which a retry may see.
    func deleteCreative(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DeleteCreativeResponse
    {
        try await self.delete(CreativeRecord.self, request, context: context) { try await self.creatives.deleteCreative($0, caller: $1) }
        return .init()
    }

    /// The platform's id of `creative` in the ad account (`accountID` here, `accountExternalID`
    /// there), publishing it the first time an ad there is made from it. No transaction is open
    /// while the platform is called; when two requests publish at once, the first stored wins and
    /// the other's copy is deleted on the platform.
    func publish(_ creative: CreativeRecord, account accountID: UUID, accountExternalID: String, _ caller: Caller) async throws -> String {
        if let published = try await self.creatives.publication(of: creative.id, account: accountID, caller: caller) {
            return published
        }
        let spec = try await self.creatives.platformCreative(creative, caller: caller)
        let created = try await self.onPlatform {
            try await self.platform.createCreative(spec, inAccount: accountExternalID, call: self.call(caller))
        }
        let kept = try await self.creatives.recordPublication(of: creative.id, account: accountID, externalID: created, caller: caller)
        if kept != created {
            do {
                try await self.platform.updateStatus(of: created, to: .deleted, call: self.call(caller))
            } catch {
                caller.logger.warning(
                    "object.platform_orphan", metadata: ["object.external_id": "\(created)", "error": "\(String(reflecting: error))"])
            }
        }
        return kept
    }

    /// `plan` with each ad from a creative naming the creative's platform id in the plan's
    /// account (published there first when it is not yet).
    func publishingCreatives(of plan: TreePlan, _ caller: Caller) async throws -> TreePlan {
        var plan = plan
        var published: [UUID: String] = [:]
        for index in plan.adSets.indices {
            for adIndex in plan.adSets[index].ads.indices {
                guard let creativeID = plan.adSets[index].ads[adIndex].creativeID else { continue }
                if published[creativeID] == nil {
                    let creative = try await self.objects.get(
                        CreativeRecord.self, id: creativeID, sellerID: caller.sellerID, logger: caller.logger)
                    published[creativeID] = try await self.publish(
                        creative, account: plan.account.id, accountExternalID: plan.account.externalID, caller)
                }
                plan.adSets[index].ads[adIndex].platformCreativeID = published[creativeID]
            }
        }
        return plan
    }
}
