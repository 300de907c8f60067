import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// A campaign in one of the seller's ad accounts: an objective, a bid strategy, and either a
/// campaign budget (daily or lifetime, minor units of the account's currency) or none, when its
/// ad sets carry theirs.
struct CampaignRecord: StatusBearingObject {
    static let table = ObjectTable(
        name: "campaigns",
        noun: "campaign",
        source: "campaigns o JOIN ad_accounts a ON a.seller_id = o.seller_id AND a.id = o.ad_account_id",
        columns: """
            o.id, o.ad_account_id, o.name, o.objective, o.status, o.daily_budget, o.lifetime_budget, o.bid_strategy, \
            o.special_ad_categories, o.external_id, o.created_at, o.updated_at, a.status = 'CONNECTED'
            """,
        effectiveStatus: "o.status",
        parentColumn: "ad_account_id",
        hasStatus: true,
        dependents: [.init(table: "ad_sets", column: "campaign_id"), .init(table: "ads", column: "campaign_id")],
        // Deleted campaigns do not count against the plan's limit.
        countCondition: "status <> 'DELETED'"
    )

    var id: UUID
    var adAccountID: UUID
    var name: String
    var objective: String
    var status: AdObjectStatus
    var dailyBudget: Int64?
    var lifetimeBudget: Int64?
    var bidStrategy: String
    var specialAdCategories: [String]
    var externalID: String
    var createdAt: Date
    var updatedAt: Date
    var accountConnected: Bool

    init(row: PostgresRow) throws {
        let status: String
        (
            self.id, self.adAccountID, self.name, self.objective, status, self.dailyBudget, self.lifetimeBudget, self.bidStrategy,
            self.specialAdCategories, self.externalID, self.createdAt, self.updatedAt, self.accountConnected
        ) = try row.decode((UUID, UUID, String, String, String, Int64?, Int64?, String, [String], String, Date, Date, Bool).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
    }

    /// A campaign has no parent that stops it (a disconnected ad account stops changes, not
    /// delivery as the platform reports it).
    var effectiveStatus: String { self.status.rawValue }

    var budget: Budget? { Budget(daily: self.dailyBudget, lifetime: self.lifetimeBudget) }

    /// Whether ad sets of this campaign may not narrow ages or genders.
    var restrictsAgeAndGender: Bool {
        !CampaignValidation.categoriesWithoutAgeOrGender.isDisjoint(with: self.specialAdCategories)
    }

    var settings: PlatformSettings {
        PlatformSettings(name: self.name, dailyBudget: self.dailyBudget, lifetimeBudget: self.lifetimeBudget)
    }

    var message: Pixecom_Campaign_V1_Campaign {
        var campaign = Pixecom_Campaign_V1_Campaign()
        campaign.id = self.id.wireText
        campaign.adAccountID = self.adAccountID.wireText
        campaign.name = self.name
        campaign.objective = self.objective
        campaign.status = self.status.proto
        campaign.effectiveStatus = self.effectiveStatus
        campaign.dailyBudget = self.dailyBudget ?? 0
        campaign.lifetimeBudget = self.lifetimeBudget ?? 0
        campaign.bidStrategy = self.bidStrategy
        campaign.specialAdCategories = self.specialAdCategories
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
        let id = spec.id
        return try await ObjectQueries.insert(
            """
            INSERT INTO campaigns (
                seller_id, id, ad_account_id, name, objective, status, daily_budget, lifetime_budget, bid_strategy,
                special_ad_categories, external_id)
            VALUES (\(sellerID), \(id), \(adAccountID), \(spec.name), \(spec.objective), \(spec.status.rawValue),
                    \(spec.dailyBudget), \(spec.lifetimeBudget), \(spec.bidStrategy), \(spec.specialAdCategories), \(externalID))
            """,
            id: id,
            returning: CampaignRecord.self,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
    }
}
