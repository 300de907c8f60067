import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// The methods of pixecom.campaign.v1.CampaignService. Each acts only for the seller of the
/// caller's access token; another seller's object answers NOT_FOUND exactly like a missing one.
///
/// The database is reached through `ObjectStore` only. A method that changes the ad platform
/// never calls it with a transaction open or a row locked: it reads (one round trip), calls the
/// platform, then stores the result in a short transaction that checks again what it read.
struct CampaignHandlers: CampaignServiceHandling {
    let objects: ObjectStore
    let connections: PlatformConnectionStore
    let assets: AssetStore
    let creatives: CreativeStore
    let verifier: TokenVerifier
    let platform: any AdPlatform
    /// Handed to the platform for its own state (`AdPlatformCall.db`); the handlers never use it.
    private let platformDatabase: PostgresClient

    init(db: PostgresClient, verifier: TokenVerifier, platform: any AdPlatform, vault: PlatformTokenVault) {
        self.objects = ObjectStore(db: db)
        self.connections = PlatformConnectionStore(db: db, vault: vault)
        self.assets = AssetStore(db: db)
        self.creatives = CreativeStore(db: db)
        self.verifier = verifier
        self.platform = platform
        self.platformDatabase = db
    }

    // MARK: - Methods (the generated `CampaignServiceHandling`; connections and ad accounts are in
    // +Accounts, the creates in +Create, the updates in +Update)

    func getCampaign(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Campaign {
        try await self.get(CampaignRecord.self, request, context: context).message
    }

    func listCampaigns(_ request: Pixecom_Campaign_V1_ListCampaignsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListCampaignsResponse
    {
        let page = try await self.list(CampaignRecord.self, try ListFilter(request), request.pageSize, request.pageToken, context: context)
        return Pixecom_Campaign_V1_ListCampaignsResponse.with {
            $0.campaigns = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func updateCampaign(_ request: Pixecom_Campaign_V1_UpdateCampaignRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_Campaign
    {
        try await self.update(
            CampaignRecord.self, id: request.id, context: context,
            change: { try ObjectChange(campaign: request, mask: UpdateMask(request.updateMask, allowed: UpdateMask.campaignPaths)) },
            verify: { change, campaign in try change.checkBudget(of: campaign, holder: "has no budget: its ad sets carry theirs") }
        ).message
    }

    func getAdSet(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdSet {
        try await self.get(AdSetRecord.self, request, context: context).message
    }

    func listAdSets(_ request: Pixecom_Campaign_V1_ListAdSetsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListAdSetsResponse
    {
        let page = try await self.list(AdSetRecord.self, try ListFilter(request), request.pageSize, request.pageToken, context: context)
        return Pixecom_Campaign_V1_ListAdSetsResponse.with {
            $0.adSets = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func updateAdSet(_ request: Pixecom_Campaign_V1_UpdateAdSetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdSet {
        try await self.update(
            AdSetRecord.self, id: request.id, context: context,
            change: { try ObjectChange(adSet: request, mask: UpdateMask(request.updateMask, allowed: UpdateMask.adSetPaths)) },
            verify: { change, adSet in try await change.checkAdSet(adSet) { try await self.campaign(of: adSet, context) } }
        ).message
    }

    func getAd(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Ad {
        try await self.get(AdRecord.self, request, context: context).message
    }

    func listAds(_ request: Pixecom_Campaign_V1_ListAdsRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_ListAdsResponse
    {
        let page = try await self.list(AdRecord.self, try ListFilter(request), request.pageSize, request.pageToken, context: context)
        return Pixecom_Campaign_V1_ListAdsResponse.with {
            $0.ads = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func updateAd(_ request: Pixecom_Campaign_V1_UpdateAdRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Ad {
        try await self.update(
            AdRecord.self, id: request.id, context: context,
            change: { try ObjectChange(ad: request, mask: UpdateMask(request.updateMask, allowed: UpdateMask.adPaths)) },
            verify: { change, ad in
                // The link of an ad made from a creative is the creative's, with its url_tags.
                if change.settings.linkURL != nil, ad.creativeID != nil || !ad.urlTags.isEmpty {
                    throw RPCError.invalidArgument(
                        field: "link_url", "comes from the ad's creative; make a new ad from another creative to send buyers elsewhere")
                }
            }
        ).message
    }

    // MARK: - Shared by the four object kinds

    func caller(_ context: ServerContext) async throws -> Caller {
        try await CampaignAccess.caller(of: context, verifier: self.verifier)
    }

    /// Get: the seller's object, DELETED ones included; NOT_FOUND naming the id otherwise.
    func get<Object: StoredObject>(
        _ type: Object.Type,
        _ request: Pixecom_Campaign_V1_GetRequest,
        context: ServerContext
    ) async throws -> Object {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        return try await self.objects.get(type, id: id, sellerID: caller.sellerID, logger: caller.logger)
    }

    /// List: one page of the seller's objects that pass `filter` (DELETED ones only when the
    /// filter asks for them; a parent that is not the seller's simply has no children).
    func list<Object: StoredObject>(
        _ type: Object.Type,
        _ filter: ListFilter,
        _ pageSize: Int32,
        _ pageToken: String,
        context: ServerContext
    ) async throws -> ListPage<Object> {
        let caller = try await self.caller(context)
        let page = try PageRequest(pageSize: pageSize, pageToken: pageToken)
        return try await self.objects.list(type, filter: filter, page: page, sellerID: caller.sellerID, logger: caller.logger)
    }

    /// List of objects without a parent (ad accounts, connections, strategies): INVALID_ARGUMENT
    /// for a `parent_id`, else one page of the seller's `plural`.
    func listTopLevel<Object: StoredObject>(
        _ type: Object.Type,
        _ request: Pixecom_Campaign_V1_ListRequest,
        plural: String,
        context: ServerContext
    ) async throws -> ListPage<Object> {
        let filter = try ListFilter(parentID: request.parentID)
        if filter.parentID != nil {
            throw RPCError.invalidArgument(field: "parent_id", "must be empty: \(plural) have no parent")
        }
        return try await self.list(type, filter, request.pageSize, request.pageToken, context: context)
    }

    /// Delete of an object without a parent by `remove` (false: there was none): NOT_FOUND naming
    /// it then, which is also what a retry after a success sees.
    func delete<Object: StoredObject>(
        _ type: Object.Type,
        _ request: Pixecom_Campaign_V1_GetRequest,
        context: ServerContext,
        by remove: (UUID, Caller) async throws -> Bool
    ) async throws {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        guard try await remove(id, caller) else { throw Object.table.notFound(id) }
    }

    /// The campaign of `adSet`, as it is now.
    func campaign(of adSet: AdSetRecord, _ context: ServerContext) async throws -> CampaignRecord {
        let caller = try await self.caller(context)
        return try await self.objects.get(CampaignRecord.self, id: adSet.campaignID, sellerID: caller.sellerID, logger: caller.logger)
    }

    // MARK: - Ad platform

    func call(_ caller: Caller) -> AdPlatformCall {
        AdPlatformCall(sellerID: caller.sellerID, db: self.platformDatabase, logger: caller.logger)
    }

    /// Runs a platform call, turning its refusals into RPC statuses.
    func onPlatform<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as AdPlatformError {
            throw error.rpcError
        }
    }
}
