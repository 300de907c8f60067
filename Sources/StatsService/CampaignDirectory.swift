import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Where an ad sits in its seller's account tree.
struct AdPlacement: Sendable, Hashable {
    var campaignID: UUID
    var adSetID: UUID
}

/// An ad the caller cannot see: missing, or another seller's.
struct AdNotFound: Error, Sendable {
    var adID: UUID
}

/// Looks up ads and campaigns in CampaignService on the caller's behalf.
///
/// Every call forwards the caller's own `authorization` metadata, so CampaignService applies the
/// caller's tenancy: another seller's ad or campaign answers NOT_FOUND exactly like a missing one.
struct CampaignDirectory: Sendable {
    /// Lookups in flight at once for one batch, to bound the load a large batch puts on Campaign.
    static let maxConcurrentLookups = 16
    static let callTimeout: Duration = .seconds(5)

    let client: RPCClient

    /// The currency of the campaign's ad account, which every amount of the campaign is in.
    /// Throws the campaign's NOT_FOUND (or any other failure of the lookups) unchanged.
    func currency(ofCampaign id: UUID, authorization: String) async throws -> String {
        var request = Pixecom_Campaign_V1_GetRequest()
        request.id = id.uuidString.lowercased()
        let campaign = try await self.client.unary(
            CampaignMethods.getCampaign,
            request,
            as: Pixecom_Campaign_V1_Campaign.self,
            metadata: ["authorization": authorization],
            timeout: Self.callTimeout
        )
        var accountRequest = Pixecom_Campaign_V1_GetRequest()
        accountRequest.id = campaign.adAccountID
        let account = try await self.client.unary(
            CampaignMethods.getAdAccount,
            accountRequest,
            as: Pixecom_Campaign_V1_AdAccount.self,
            metadata: ["authorization": authorization],
            timeout: Self.callTimeout
        )
        guard !account.currency.isEmpty else {
            throw RPCError(.internal, "campaign service returned an ad account without a currency")
        }
        return account.currency
    }

    /// The currencies of several campaigns, looked up concurrently (bounded).
    func currencies(ofCampaigns ids: [UUID], authorization: String) async throws -> [UUID: String] {
        try await Self.boundedMap(ids) { id in try await self.currency(ofCampaign: id, authorization: authorization) }
    }

    /// The campaign and ad set of one ad; `AdNotFound` when Campaign answers NOT_FOUND.
    func placement(ofAd adID: UUID, authorization: String) async throws -> AdPlacement {
        var request = Pixecom_Campaign_V1_GetRequest()
        request.id = adID.uuidString.lowercased()
        let ad: Pixecom_Campaign_V1_Ad
        do {
            ad = try await self.client.unary(
                CampaignMethods.getAd,
                request,
                as: Pixecom_Campaign_V1_Ad.self,
                metadata: ["authorization": authorization],
                timeout: Self.callTimeout
            )
        } catch let error as RPCError where error.code == .notFound {
            throw AdNotFound(adID: adID)
        }
        guard let campaignID = UUID(uuidString: ad.campaignID), let adSetID = UUID(uuidString: ad.adSetID) else {
            throw RPCError(.internal, "campaign service returned an ad without valid parent ids")
        }
        return AdPlacement(campaignID: campaignID, adSetID: adSetID)
    }

    /// The placements of every ad, looked up concurrently (bounded). The first failure cancels the
    /// remaining lookups and is thrown.
    func placements(ofAds adIDs: [UUID], authorization: String) async throws -> [UUID: AdPlacement] {
        try await Self.boundedMap(adIDs) { adID in try await self.placement(ofAd: adID, authorization: authorization) }
    }

    /// `lookup` of every id, at most `maxConcurrentLookups` at once. The first failure cancels the
    /// remaining lookups and is thrown.
    private static func boundedMap<Value: Sendable>(
        _ ids: [UUID], _ lookup: @escaping @Sendable (UUID) async throws -> Value
    ) async throws -> [UUID: Value] {
        try await withThrowingTaskGroup(of: (UUID, Value).self) { group in
            var pending = ids.makeIterator()
            var result: [UUID: Value] = [:]
            result.reserveCapacity(ids.count)
            for _ in 0..<Self.maxConcurrentLookups {
                guard let id = pending.next() else { break }
                group.addTask { (id, try await lookup(id)) }
            }
            while let (id, value) = try await group.next() {
                result[id] = value
                if let next = pending.next() {
                    group.addTask { (next, try await lookup(next)) }
                }
            }
            return result
        }
    }
}
