import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// An ad set of one of the seller's campaigns, with its own daily budget in minor units.
struct AdSetRecord: StatusBearingObject {
    static let table = ObjectTable(
        name: "ad_sets",
        noun: "ad set",
        columns: "id, campaign_id, name, status, daily_budget, external_id, created_at, updated_at",
        parentColumn: "campaign_id",
        hasStatus: true,
        dependents: [.init(table: "ads", column: "ad_set_id")]
    )

    var id: UUID
    var campaignID: UUID
    var name: String
    var status: AdObjectStatus
    var dailyBudget: Int64
    var externalID: String
    var createdAt: Date
    var updatedAt: Date

    init(row: PostgresRow) throws {
        let status: String
        (self.id, self.campaignID, self.name, status, self.dailyBudget, self.externalID, self.createdAt, self.updatedAt) =
            try row.decode((UUID, UUID, String, String, Int64, String, Date, Date).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
    }

    var budget: Int64? { self.dailyBudget }

    var message: Pixecom_Campaign_V1_AdSet {
        var adSet = Pixecom_Campaign_V1_AdSet()
        adSet.id = self.id.wireText
        adSet.campaignID = self.campaignID.wireText
        adSet.name = self.name
        adSet.status = self.status.proto
        adSet.dailyBudget = self.dailyBudget
        adSet.externalID = self.externalID
        adSet.createTime = RequestValidation.timestamp(self.createdAt)
        adSet.updateTime = RequestValidation.timestamp(self.updatedAt)
        return adSet
    }
}

/// Writes of `ad_sets`; reads and status changes go through `ObjectQueries`.
enum AdSetStore {
    static func insert(
        _ spec: AdSetSpec,
        campaignID: UUID,
        externalID: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> AdSetRecord {
        try await ObjectQueries.insert(
            """
            INSERT INTO ad_sets (seller_id, id, campaign_id, name, status, daily_budget, external_id)
            VALUES (\(sellerID), \(UUID()), \(campaignID), \(spec.name), \(spec.status.rawValue), \(spec.dailyBudget), \(externalID))
            RETURNING \(unescaped: AdSetRecord.table.columns)
            """,
            returning: AdSetRecord.self,
            on: connection,
            logger: logger
        )
    }
}
