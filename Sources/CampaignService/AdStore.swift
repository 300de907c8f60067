import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// An ad in one of the seller's ad sets, sending buyers to `linkURL` (a sell page). Carries its
/// campaign (copied from the ad set; an ad never moves) so StatsService maps an ad to its campaign
/// with one GetAd.
struct AdRecord: StatusBearingObject {
    static let table = ObjectTable(
        name: "ads",
        noun: "ad",
        columns: "id, ad_set_id, campaign_id, name, status, link_url, external_id, created_at, updated_at",
        parentColumn: "ad_set_id",
        hasStatus: true
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

    init(row: PostgresRow) throws {
        let status: String
        (self.id, self.adSetID, self.campaignID, self.name, status, self.linkURL, self.externalID, self.createdAt, self.updatedAt) =
            try row.decode((UUID, UUID, UUID, String, String, String, String, Date, Date).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
    }

    var budget: Int64? { nil }

    var message: Pixecom_Campaign_V1_Ad {
        var ad = Pixecom_Campaign_V1_Ad()
        ad.id = self.id.wireText
        ad.adSetID = self.adSetID.wireText
        ad.campaignID = self.campaignID.wireText
        ad.name = self.name
        ad.status = self.status.proto
        ad.linkURL = self.linkURL
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
        try await ObjectQueries.insert(
            """
            INSERT INTO ads (seller_id, id, ad_set_id, campaign_id, name, status, link_url, external_id)
            VALUES (\(sellerID), \(UUID()), \(adSet.id), \(adSet.campaignID), \(spec.name), \(spec.status.rawValue),
                    \(spec.linkURL), \(externalID))
            RETURNING \(unescaped: AdRecord.table.columns)
            """,
            returning: AdRecord.self,
            on: connection,
            logger: logger
        )
    }
}
