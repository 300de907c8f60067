import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Where an ad or a campaign sits in its seller's account tree, with the ad account's currency and
/// time zone (an ad's day and money are in them).
struct Placement: Sendable, Hashable {
    var campaignID: UUID
    /// Nil for a campaign's placement.
    var adSetID: UUID?
    var currency: String
    var timeZone: String
}

/// An ad the caller cannot see: missing, or another seller's.
struct AdNotFound: Error, Sendable {
    var adID: UUID
}

/// Looks up placements in CampaignService: one `DescribePlacements` call per batch, never one per
/// row, as StatsService (its certificate) for the seller named in the call. Campaign's read is
/// scoped to that seller like any other, so an id of another seller is absent, as a missing one.
struct CampaignDirectory: Sendable {
    static let callTimeout: Duration = .seconds(5)

    let client: RPCClient

    /// The placements of the ads and campaigns that exist for `sellerID`; the others are absent.
    func placements(sellerID: UUID, ads: [UUID], campaigns: [UUID] = []) async throws
        -> (ads: [UUID: Placement], campaigns: [UUID: Placement])
    {
        guard !ads.isEmpty || !campaigns.isEmpty else { return ([:], [:]) }
        var request = Pixecom_Campaign_V1_DescribePlacementsRequest()
        request.sellerID = sellerID.uuidString.lowercased()
        request.adIds = ads.map { $0.uuidString.lowercased() }
        request.campaignIds = campaigns.map { $0.uuidString.lowercased() }
        let response = try await self.client.unary(
            CampaignMethods.describePlacements,
            request,
            as: Pixecom_Campaign_V1_DescribePlacementsResponse.self,
            timeout: Self.callTimeout
        )
        func placement(_ entry: Pixecom_Campaign_V1_Placement, isAd: Bool) throws -> (UUID, Placement) {
            guard let campaign = UUID(canonical: entry.campaignID), let id = UUID(canonical: isAd ? entry.adID : entry.campaignID),
                !entry.currency.isEmpty, !entry.timeZone.isEmpty
            else {
                throw RPCError(.internal, "campaign service described a placement without valid ids, currency or time zone")
            }
            let adSet = isAd ? UUID(canonical: entry.adSetID) : nil
            if isAd, adSet == nil { throw RPCError(.internal, "campaign service described an ad without its ad set") }
            return (id, Placement(campaignID: campaign, adSetID: adSet, currency: entry.currency, timeZone: entry.timeZone))
        }
        let adPlacements = try Dictionary(response.ads.map { try placement($0, isAd: true) }, uniquingKeysWith: { first, _ in first })
        let campaignPlacements = try Dictionary(
            response.campaigns.map { try placement($0, isAd: false) }, uniquingKeysWith: { first, _ in first })
        return (adPlacements, campaignPlacements)
    }

    /// The placements of every ad; `AdNotFound` naming the first one the seller does not have.
    func placements(ofAds adIDs: [UUID], sellerID: UUID) async throws -> [UUID: Placement] {
        let found = try await self.placements(sellerID: sellerID, ads: adIDs).ads
        if let missing = adIDs.first(where: { found[$0] == nil }) { throw AdNotFound(adID: missing) }
        return found
    }

    /// The placement of one campaign; NOT_FOUND (as CampaignService words it) when the seller has none.
    func placement(ofCampaign id: UUID, sellerID: UUID) async throws -> Placement {
        guard let found = try await self.placements(sellerID: sellerID, ads: [], campaigns: [id]).campaigns[id] else {
            throw RPCError.notFound("campaign")
        }
        return found
    }

    /// Every object of `level` of the seller (or under `parentID`) not deleted, with names,
    /// statuses and currencies: one `DescribeObjects` call.
    func objects(sellerID: UUID, level: AdsManagerQuery.Level, parentID: UUID?) async throws -> [Pixecom_Campaign_V1_ObjectSummary] {
        var request = Pixecom_Campaign_V1_DescribeObjectsRequest()
        request.sellerID = sellerID.uuidString.lowercased()
        request.level = level.rawValue
        request.parentID = parentID?.uuidString.lowercased() ?? ""
        return try await self.client.unary(
            CampaignMethods.describeObjects,
            request,
            as: Pixecom_Campaign_V1_DescribeObjectsResponse.self,
            timeout: Self.callTimeout
        ).objects
    }
}
