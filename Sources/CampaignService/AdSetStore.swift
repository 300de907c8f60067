import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// An ad set of one of the seller's campaigns: who its ads reach (targeting), when (start and
/// end time), how it bids and is billed, and its own budget when the campaign has none.
struct AdSetRecord: StatusBearingObject {
    /// The ad set's own status unless its campaign stops it.
    private static let effectiveStatusSQL = """
        CASE WHEN o.status <> 'ACTIVE' THEN o.status WHEN c.status = 'ACTIVE' THEN 'ACTIVE' \
        WHEN c.status = 'PAUSED' THEN 'CAMPAIGN_PAUSED' ELSE c.status END
        """

    static let table = ObjectTable(
        name: "ad_sets",
        noun: "ad set",
        source: """
            ad_sets o JOIN campaigns c ON c.seller_id = o.seller_id AND c.id = o.campaign_id \
            JOIN ad_accounts a ON a.seller_id = o.seller_id AND a.id = c.ad_account_id
            """,
        columns: """
            o.id, o.campaign_id, o.name, o.status, o.daily_budget, o.lifetime_budget, o.bid_amount, o.roas_average_floor, \
            o.optimization_goal, o.billing_event, o.targeting::text, o.start_time, o.end_time, o.external_id, o.created_at, \
            o.updated_at, \(effectiveStatusSQL), a.status = 'CONNECTED'
            """,
        effectiveStatus: effectiveStatusSQL,
        parentColumn: "campaign_id",
        hasStatus: true,
        dependents: [.init(table: "ads", column: "ad_set_id")]
    )

    var id: UUID
    var campaignID: UUID
    var name: String
    var status: AdObjectStatus
    var dailyBudget: Int64?
    var lifetimeBudget: Int64?
    var bidAmount: Int64?
    var roasAverageFloor: Int64?
    var optimizationGoal: String
    var billingEvent: String
    /// Empty (no countries) for ad sets stored before targeting was recorded.
    var targeting: TargetingSpec
    var startTime: Date
    var endTime: Date?
    var externalID: String
    var createdAt: Date
    var updatedAt: Date
    var effectiveStatus: String
    var accountConnected: Bool

    init(row: PostgresRow) throws {
        let status: String
        let targeting: String
        (
            self.id, self.campaignID, self.name, status, self.dailyBudget, self.lifetimeBudget, self.bidAmount, self.roasAverageFloor,
            self.optimizationGoal, self.billingEvent, targeting, self.startTime, self.endTime, self.externalID, self.createdAt,
            self.updatedAt, self.effectiveStatus, self.accountConnected
        ) = try row.decode(
            (
                UUID, UUID, String, String, Int64?, Int64?, Int64?, Int64?, String, String, String, Date, Date?, String, Date, Date,
                String, Bool
            ).self)
        self.status = try AdObjectStatus(stored: status, table: Self.table.name)
        if targeting == "{}" {
            self.targeting = TargetingSpec()
        } else {
            do {
                self.targeting = try JSONDecoder().decode(TargetingSpec.self, from: Data(targeting.utf8))
            } catch {
                throw UnreadableRowError(table: Self.table.name, column: "targeting", value: String(targeting.prefix(200)))
            }
        }
    }

    var budget: Budget? { Budget(daily: self.dailyBudget, lifetime: self.lifetimeBudget) }

    var settings: PlatformSettings {
        PlatformSettings(
            name: self.name, dailyBudget: self.dailyBudget, lifetimeBudget: self.lifetimeBudget, bidAmount: self.bidAmount,
            roasAverageFloor: self.roasAverageFloor, targeting: self.targeting, endTime: self.endTime)
    }

    var message: Pixecom_Campaign_V1_AdSet {
        var adSet = Pixecom_Campaign_V1_AdSet()
        adSet.id = self.id.wireText
        adSet.campaignID = self.campaignID.wireText
        adSet.name = self.name
        adSet.status = self.status.proto
        adSet.effectiveStatus = self.effectiveStatus
        adSet.dailyBudget = self.dailyBudget ?? 0
        adSet.lifetimeBudget = self.lifetimeBudget ?? 0
        adSet.bidAmount = self.bidAmount ?? 0
        adSet.roasAverageFloor = self.roasAverageFloor ?? 0
        adSet.optimizationGoal = self.optimizationGoal
        adSet.billingEvent = self.billingEvent
        if !self.targeting.countries.isEmpty { adSet.targeting = self.targeting.message }
        adSet.startTime = RequestValidation.timestamp(self.startTime)
        adSet.endTime = self.endTime.map(RequestValidation.timestamp) ?? ""
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
        let id = spec.id
        return try await ObjectQueries.insert(
            """
            INSERT INTO ad_sets (
                seller_id, id, campaign_id, name, status, daily_budget, lifetime_budget, bid_amount, roas_average_floor,
                optimization_goal, billing_event, targeting, start_time, end_time, external_id)
            VALUES (\(sellerID), \(id), \(campaignID), \(spec.name), \(spec.status.rawValue), \(spec.dailyBudget),
                    \(spec.lifetimeBudget), \(spec.bidAmount), \(spec.roasAverageFloor), \(spec.optimizationGoal),
                    \(spec.billingEvent), \(try TargetingSpec.json(spec.targeting))::jsonb, \(spec.startTime), \(spec.endTime),
                    \(externalID))
            """,
            id: id,
            returning: AdSetRecord.self,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
    }
}

extension TargetingSpec {
    /// The stored JSON: keys sorted, so equal targeting is equal text.
    static func json(_ spec: TargetingSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }
}
