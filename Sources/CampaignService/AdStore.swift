import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// An ad in one of the seller's ad sets, sending buyers to `linkURL` (a sell page). Carries its
/// campaign (copied from the ad set; an ad never moves) so StatsService maps an ad to its campaign
/// with one GetAd.
struct AdRecord: StatusBearingObject {
    /// The ad's own status unless its campaign or ad set stops it (the campaign first, as Meta
    /// reports it).
    private static let effectiveStatusSQL = """
        CASE WHEN o.status <> 'ACTIVE' THEN o.status WHEN c.status = 'PAUSED' THEN 'CAMPAIGN_PAUSED' \
        WHEN c.status <> 'ACTIVE' THEN c.status WHEN s.status = 'PAUSED' THEN 'ADSET_PAUSED' \
        WHEN s.status <> 'ACTIVE' THEN s.status ELSE 'ACTIVE' END
        """

    static let table = ObjectTable(
        name: "ads",
        noun: "ad",
        source: """
            ads o JOIN ad_sets s ON s.seller_id = o.seller_id AND s.id = o.ad_set_id \
            JOIN campaigns c ON c.seller_id = o.seller_id AND c.id = o.campaign_id \
            JOIN ad_accounts a ON a.seller_id = o.seller_id AND a.id = c.ad_account_id
            """,
        columns: """
            o.id, o.ad_set_id, o.campaign_id, o.name, o.status, o.link_url, o.external_id, o.created_at, o.updated_at, \
            \(effectiveStatusSQL), a.status = 'CONNECTED', o.creative_id, o.url_tags
            """,
        effectiveStatus: effectiveStatusSQL,
        parentColumn: "ad_set_id",
        hasStatus: true,
        // Deleted ads do not count against the plan's ads per ad set.
        countCondition: "status <> 'DELETED'"
    )

    var id: UUID
    var adSetID: UUID
    var campaignID: UUID
    var name: String
    var status: AdObjectStatus
    var linkURL: String
    var externalID: String
    var createdAt: Date
    var updatedAt: Date
    var effectiveStatus: String
    var accountConnected: Bool
    /// The creative it was made from (nil when none, or deleted since) and the url_tags it took.
    var creativeID: UUID?
    var urlTags: String

    init(row: PostgresRow) throws {
        let status: String
        (
            self.id, self.adSetID, self.campaignID, self.name, status, self.linkURL, self.externalID, self.createdAt, self.updatedAt,
            self.effectiveStatus, self.accountConnected, self.creativeID, self.urlTags
        ) = try row.decode((UUID, UUID, UUID, String, String, String, String, Date, Date, String, Bool, UUID?, String).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
    }

    var budget: Budget? { nil }

    /// As the platform holds it: the final URL is its link.
    var settings: PlatformSettings { PlatformSettings(name: self.name, linkURL: self.finalURL) }

    var finalURL: String {
        URLTags.finalURL(link: self.linkURL, tags: self.urlTags, campaignID: self.campaignID, adSetID: self.adSetID, adID: self.id)
    }

    var message: Pixecom_Campaign_V1_Ad {
        var ad = Pixecom_Campaign_V1_Ad()
        ad.id = self.id.wireText
        ad.adSetID = self.adSetID.wireText
        ad.campaignID = self.campaignID.wireText
        ad.name = self.name
        ad.status = self.status.proto
        ad.effectiveStatus = self.effectiveStatus
        ad.linkURL = self.linkURL
        ad.creativeID = self.creativeID?.wireText ?? ""
        ad.finalURL = self.finalURL
        ad.externalID = self.externalID
        ad.createTime = RequestValidation.timestamp(self.createdAt)
        ad.updateTime = RequestValidation.timestamp(self.updatedAt)
        return ad
    }
}

/// Writes of `ads`; reads and status changes go through `ObjectQueries`.
enum AdStore {
    static func insert(
        _ spec: AdSpec,
        in adSet: AdSetRecord,
        externalID: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> AdRecord {
        let id = spec.id
        return try await ObjectQueries.insert(
            """
            INSERT INTO ads (seller_id, id, ad_set_id, campaign_id, name, status, link_url, external_id, creative_id, url_tags)
            VALUES (\(sellerID), \(id), \(adSet.id), \(adSet.campaignID), \(spec.name), \(spec.status.rawValue),
                    \(spec.linkURL), \(externalID), \(spec.creativeID), \(spec.urlTags))
            """,
            id: id,
            returning: AdRecord.self,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
    }
}
