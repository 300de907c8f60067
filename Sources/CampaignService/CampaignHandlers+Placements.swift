import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// DescribePlacements: StatsService's one batched lookup of where ads and campaigns sit.
extension CampaignHandlers {
    /// The most ids one call may name, ads and campaigns together (an insights batch's rows).
    static let maxPlacementIDs = 5000

    /// Internal: the seller id is the request's, trusted because the caller's certificate proved it
    /// is StatsService (`AccessPolicy.campaign`). The read is scoped to that seller like any other,
    /// so an id of another seller is simply absent from the answer.
    func describePlacements(_ request: Pixecom_Campaign_V1_DescribePlacementsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DescribePlacementsResponse
    {
        let sellerID = try RequestValidation.id(request.sellerID, field: "seller_id")
        let count = request.adIds.count + request.campaignIds.count
        guard count <= Self.maxPlacementIDs else {
            throw RPCError.invalidArgument(
                field: "ad_ids", "ad_ids and campaign_ids name \(count) ids together; at most \(Self.maxPlacementIDs)")
        }
        var violations = FieldViolations()
        let adIDs = try request.adIds.enumerated().compactMap { index, text in
            try violations.check { try RequestValidation.id(text, field: "ad_ids[\(index)]") }
        }
        let campaignIDs = try request.campaignIds.enumerated().compactMap { index, text in
            try violations.check { try RequestValidation.id(text, field: "campaign_ids[\(index)]") }
        }
        try violations.throwIfAny()
        let placements = try await self.objects.placements(
            sellerID: sellerID, adIDs: adIDs, campaignIDs: campaignIDs, logger: context.logger)
        return Pixecom_Campaign_V1_DescribePlacementsResponse.with {
            $0.ads = placements.filter { !$0.adID.isEmpty }
            $0.campaigns = placements.filter { $0.adID.isEmpty }
        }
    }
}

extension ObjectStore {
    /// The placements of the named ads and campaigns, deleted ones included, in one scoped read.
    /// Campaign rows have an empty ad id and ad set id.
    func placements(sellerID: UUID, adIDs: [UUID], campaignIDs: [UUID], logger: Logger) async throws
        -> [Pixecom_Campaign_V1_Placement]
    {
        guard !adIDs.isEmpty || !campaignIDs.isEmpty else { return [] }
        let query: PostgresQuery = """
            SELECT ad.id::text, ad.ad_set_id::text, c.id::text, a.id::text, a.currency, a.time_zone
            FROM ads ad
            JOIN campaigns c ON c.seller_id = ad.seller_id AND c.id = ad.campaign_id
            JOIN ad_accounts a ON a.seller_id = c.seller_id AND a.id = c.ad_account_id
            WHERE ad.seller_id = \(sellerID) AND ad.id = ANY(\(adIDs)::uuid[])
            UNION ALL
            SELECT '', '', c.id::text, a.id::text, a.currency, a.time_zone
            FROM campaigns c
            JOIN ad_accounts a ON a.seller_id = c.seller_id AND a.id = c.ad_account_id
            WHERE c.seller_id = \(sellerID) AND c.id = ANY(\(campaignIDs)::uuid[])
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (ad, adSet, campaign, account, currency, timeZone) = try row.decode((String, String, String, String, String, String).self)
            return Pixecom_Campaign_V1_Placement.with {
                $0.adID = ad
                $0.adSetID = adSet
                $0.campaignID = campaign
                $0.adAccountID = account
                $0.currency = currency
                $0.timeZone = timeZone
            }
        }
    }
}
