import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// A campaign in one of the seller's ad accounts: an objective and a daily budget in minor units
/// of the account's currency.
struct CampaignRecord: StatusBearingObject {
    static let table = ObjectTable(
        name: "campaigns",
        noun: "campaign",
        columns: "id, ad_account_id, name, objective, status, daily_budget, external_id, created_at, updated_at",
        parentColumn: "ad_account_id",
        hasStatus: true,
        dependents: [.init(table: "ad_sets", column: "campaign_id"), .init(table: "ads", column: "campaign_id")]
    )

    var id: UUID
    var adAccountID: UUID
    var name: String
    var objective: String
    var status: AdObjectStatus
    var dailyBudget: Int64
    var externalID: String
    var createdAt: Date
    var updatedAt: Date

    init(row: PostgresRow) throws {
        let status: String
        (self.id, self.adAccountID, self.name, self.objective, status, self.dailyBudget, self.externalID, self.createdAt, self.updatedAt) =
            try row.decode((UUID, UUID, String, String, String, Int64, String, Date, Date).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
    }

    var budget: Int64? { self.dailyBudget }

    var message: Pixecom_Campaign_V1_Campaign {
        var campaign = Pixecom_Campaign_V1_Campaign()
        campaign.id = self.id.wireText
        campaign.adAccountID = self.adAccountID.wireText
        campaign.name = self.name
        campaign.objective = self.objective
        campaign.status = self.status.proto
        campaign.dailyBudget = self.dailyBudget
        campaign.externalID = self.externalID
        campaign.createTime = RequestValidation.timestamp(self.createdAt)
        campaign.updateTime = RequestValidation.timestamp(self.updatedAt)
        return campaign
    }
}

/// Writes of `campaigns`; reads and status changes go through `ObjectQueries`.
enum CampaignStore {
    static func insert(
        _ spec: CampaignSpec,
        adAccountID: UUID,
        externalID: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> CampaignRecord {
        try await ObjectQueries.insert(
            """
            INSERT INTO campaigns (seller_id, id, ad_account_id, name, objective, status, daily_budget, external_id)
            VALUES (\(sellerID), \(UUID()), \(adAccountID), \(spec.name), \(spec.objective), \(spec.status.rawValue),
                    \(spec.dailyBudget), \(externalID))
            RETURNING \(unescaped: CampaignRecord.table.columns)
            """,
            returning: CampaignRecord.self,
            on: connection,
            logger: logger
        )
    }
}
