import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// An insights row with the campaign and ad set its ad belongs to.
struct PlacedInsight: Sendable, Hashable {
    var record: InsightRecord
    var placement: Placement
    var campaignID: UUID { self.placement.campaignID }
    /// Only ads are placed here, and an ad's placement always has its ad set.
    var adSetID: UUID { self.placement.adSetID ?? self.placement.campaignID }
}

/// Daily per-ad insights in the `ad_daily_insights` table.
struct InsightsStore: Sendable {
    let db: PostgresClient

    /// Upserts the rows of one batch atomically (a single statement over unnested arrays).
    ///
    /// A restatement replaces a day's numbers; a row equal to what is stored is left untouched, so
    /// replaying a batch changes nothing (not even `updated_at`). Rows must be unique per (ad, day):
    /// one statement cannot update a row twice.
    func upsert(_ rows: [PlacedInsight], sellerID: UUID, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        let adIDs = rows.map(\.record.adID)
        let days = rows.map(\.record.day)
        let campaignIDs = rows.map(\.campaignID)
        let adSetIDs = rows.map(\.adSetID)
        let spends = rows.map(\.record.spend)
        let currencies = rows.map(\.record.currency)
        let impressions = rows.map(\.record.impressions)
        let clicks = rows.map(\.record.clicks)
        let purchases = rows.map(\.record.purchases)
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.upsert(
                sellerID: sellerID, adIDs: adIDs, days: days, campaignIDs: campaignIDs, adSetIDs: adSetIDs,
                spends: spends, currencies: currencies, impressions: impressions, clicks: clicks, purchases: purchases, on: connection,
                logger: logger)
        }
    }

    private static func upsert(
        sellerID: UUID, adIDs: [UUID], days: [String], campaignIDs: [UUID], adSetIDs: [UUID], spends: [Int64],
        currencies: [String], impressions: [Int64], clicks: [Int64], purchases: [Int64], on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO ad_daily_insights
                (seller_id, ad_id, day, campaign_id, ad_set_id, spend, currency, impressions, clicks, purchases, updated_at)
            SELECT \(sellerID), r.ad_id, r.day, r.campaign_id, r.ad_set_id, r.spend, r.currency, r.impressions, r.clicks,
                   r.purchases, now()
            FROM unnest(
                \(adIDs)::uuid[], \(days)::date[], \(campaignIDs)::uuid[], \(adSetIDs)::uuid[],
                \(spends)::bigint[], \(currencies)::text[], \(impressions)::bigint[], \(clicks)::bigint[],
                \(purchases)::bigint[]
            ) AS r(ad_id, day, campaign_id, ad_set_id, spend, currency, impressions, clicks, purchases)
            ON CONFLICT (seller_id, ad_id, day) DO UPDATE SET
                campaign_id = EXCLUDED.campaign_id,
                ad_set_id = EXCLUDED.ad_set_id,
                spend = EXCLUDED.spend,
                currency = EXCLUDED.currency,
                impressions = EXCLUDED.impressions,
                clicks = EXCLUDED.clicks,
                purchases = EXCLUDED.purchases,
                updated_at = now()
            WHERE (ad_daily_insights.campaign_id, ad_daily_insights.ad_set_id, ad_daily_insights.spend,
                   ad_daily_insights.currency, ad_daily_insights.impressions, ad_daily_insights.clicks,
                   ad_daily_insights.purchases)
                IS DISTINCT FROM
                  (EXCLUDED.campaign_id, EXCLUDED.ad_set_id, EXCLUDED.spend,
                   EXCLUDED.currency, EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.purchases)
            """,
            logger: logger
        )
    }

    /// A campaign's delivery sums per day and currency over `since...until` (inclusive), in one
    /// scoped read.
    func dailySpend(sellerID: UUID, campaignID: UUID, since: String, until: String, logger: Logger) async throws -> [DailySpend] {
        let query: PostgresQuery = """
            SELECT day::text, currency, sum(spend)::bigint, sum(impressions)::bigint, sum(clicks)::bigint,
                   sum(purchases)::bigint
            FROM ad_daily_insights
            WHERE seller_id = \(sellerID) AND campaign_id = \(campaignID)
              AND day BETWEEN \(since)::date AND \(until)::date
            GROUP BY day, currency
            ORDER BY day, currency
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (day, currency, spend, impressions, clicks, purchases) = try row.decode((String, String, Int64, Int64, Int64, Int64).self)
            return DailySpend(day: day, currency: currency, spend: spend, impressions: impressions, clicks: clicks, purchases: purchases)
        }
    }

    /// Delivery sums within `scope` over `since...until`, per currency and per day or per object
    /// of a level (`LevelKey.id`), in one scoped read.
    func sums(sellerID: UUID, by grouping: StatsGrouping, scope: StatsScope, since: String, until: String, logger: Logger) async throws
        -> [LevelKey: StatsReport.Sums]
    {
        let column =
            switch grouping {
            case .day: "day::text"
            case .level(.campaign): "campaign_id::text"
            case .level(.adSet): "ad_set_id::text"
            case .level(.ad): "ad_id::text"
            }
        // Spend belongs to ads, and an ad may send visitors to several pages: none is a page's.
        if scope.sellPage != nil { return [:] }
        let (campaigns, adSet, ad, parent) = scope.filters
        let query: PostgresQuery = """
            SELECT \(unescaped: column), currency, sum(spend)::bigint, sum(impressions)::bigint, sum(clicks)::bigint,
                   sum(purchases)::bigint
            FROM ad_daily_insights
            WHERE seller_id = \(sellerID) AND day BETWEEN \(since)::date AND \(until)::date
              AND (\(campaigns)::uuid[] IS NULL OR campaign_id = ANY(\(campaigns)::uuid[]))
              AND (\(adSet)::uuid IS NULL OR ad_set_id = \(adSet))
              AND (\(ad)::uuid IS NULL OR ad_id = \(ad))
              AND (\(parent)::uuid IS NULL OR campaign_id = \(parent) OR ad_set_id = \(parent))
            GROUP BY 1, 2
            """
        return try await StatsReport.Sums.keyed(
            self.db.readAsSeller(sellerID, query, logger: logger) { row in
                let (id, currency, spend, impressions, clicks, purchases) = try row.decode(
                    (String, String, Int64, Int64, Int64, Int64).self)
                var sums = StatsReport.Sums()
                try sums.add(spend: spend, impressions: impressions, clicks: clicks, purchases: purchases)
                return (LevelKey(id: id, currency: currency), sums)
            })
    }
}
