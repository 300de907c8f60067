import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// A storefront funnel event ready to store: checked, with the ad that sent the visitor resolved
/// for the seller (keys "" when the seller has no such ad or campaign).
struct PlacedFunnelEvent: Sendable, Hashable {
    enum Step: String, Sendable, CaseIterable {
        case pageView = "PAGE_VIEW"
        case addToCart = "ADD_TO_CART"
        case checkoutStarted = "CHECKOUT_STARTED"
        case purchase = "PURCHASE"
    }

    var eventID: UUID
    var step: Step
    var occurredAt: Date
    var campaignKey: String = ""
    var adSetKey: String = ""
    var adKey: String = ""
    /// The ad account's IANA zone of the ad or campaign; nil for UTC.
    var timeZone: String?
}

/// Storefront funnel events as facts (`funnel_events`, one row per event id, never changed) and
/// their counts per sell page, ad, day and currency (`sell_page_daily_funnel`).
///
/// Invariant: every aggregate row equals the counts of its bucket's facts. An event is a fact
/// that never changes (no restatement, no refund), so one statement inserts the new facts and
/// adds to each bucket exactly the counts of the rows that insert returned: a duplicate returns no
/// row and adds nothing, and two batches touching one bucket serialise on its row lock. Unlike
/// revenue, no re-aggregation job is needed to make the sums right under any number of replicas.
struct FunnelStore: Sendable {
    let db: PostgresClient

    /// Stores the events of one sell page; returns how many were new and how many seen before.
    func record(
        _ events: [PlacedFunnelEvent], sellerID: UUID, sellPageID: UUID, currency: String, logger: Logger
    ) async throws -> (applied: Int, duplicates: Int) {
        guard !events.isEmpty else { return (0, 0) }
        let ids = events.map(\.eventID)
        let steps = events.map(\.step.rawValue)
        let times = events.map(\.occurredAt)
        let zones = events.map { $0.timeZone ?? "UTC" }
        let campaigns = events.map(\.campaignKey)
        let adSets = events.map(\.adSetKey)
        let ads = events.map(\.adKey)
        // Buckets are written in key order, so two batches sharing buckets lock them in the same
        // order and never deadlock.
        let applied = try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                """
                WITH new AS (
                    INSERT INTO funnel_events
                        (seller_id, event_id, sell_page_id, step, occurred_at, day, campaign_key, ad_set_key, ad_key, currency)
                    SELECT \(sellerID), e.event_id, \(sellPageID), e.step, e.occurred_at, (e.occurred_at AT TIME ZONE e.zone)::date,
                           e.campaign_key, e.ad_set_key, e.ad_key, \(currency)
                    FROM unnest(\(ids)::uuid[], \(steps)::text[], \(times)::timestamptz[], \(zones)::text[], \(campaigns)::text[],
                                \(adSets)::text[], \(ads)::text[])
                        AS e(event_id, step, occurred_at, zone, campaign_key, ad_set_key, ad_key)
                    ON CONFLICT (seller_id, event_id) DO NOTHING
                    RETURNING sell_page_id, ad_key, day, currency, campaign_key, ad_set_key, step
                ), counted AS (
                    INSERT INTO sell_page_daily_funnel AS t
                        (seller_id, sell_page_id, ad_key, day, currency, campaign_key, ad_set_key,
                         page_views, add_to_carts, checkouts_started, purchases)
                    SELECT \(sellerID), sell_page_id, ad_key, day, currency, max(campaign_key), max(ad_set_key),
                           count(*) FILTER (WHERE step = 'PAGE_VIEW'), count(*) FILTER (WHERE step = 'ADD_TO_CART'),
                           count(*) FILTER (WHERE step = 'CHECKOUT_STARTED'), count(*) FILTER (WHERE step = 'PURCHASE')
                    FROM new
                    GROUP BY sell_page_id, ad_key, day, currency
                    ORDER BY sell_page_id, ad_key, day, currency
                    ON CONFLICT (seller_id, sell_page_id, ad_key, day, currency) DO UPDATE SET
                        page_views = t.page_views + EXCLUDED.page_views,
                        add_to_carts = t.add_to_carts + EXCLUDED.add_to_carts,
                        checkouts_started = t.checkouts_started + EXCLUDED.checkouts_started,
                        purchases = t.purchases + EXCLUDED.purchases,
                        updated_at = now()
                    RETURNING 1
                )
                SELECT count(*)::bigint FROM new
                """,
                logger: logger
            )
            var count: Int64 = 0
            for try await value in rows.decode(Int64.self) { count = value }
            return Int(count)
        }
        return (applied, events.count - applied)
    }

    /// Funnel counts within `scope` over `since...until`, per currency (the sell page's) and per day
    /// or per object of a level, in one scoped read. Grouped by level, events that name no object
    /// of the level are left out.
    func sums(sellerID: UUID, by grouping: StatsGrouping, scope: StatsScope, since: String, until: String, logger: Logger) async throws
        -> [LevelKey: StatsReport.Sums]
    {
        let (column, named) = grouping.textKeyColumns
        let (campaignKeys, adSetKey, adKey, parentKey) = scope.textKeys
        let sellPage = scope.sellPage
        let query: PostgresQuery = """
            SELECT \(unescaped: column), currency, sum(page_views)::bigint, sum(add_to_carts)::bigint,
                   sum(checkouts_started)::bigint, sum(purchases)::bigint
            FROM sell_page_daily_funnel
            WHERE seller_id = \(sellerID) AND day BETWEEN \(since)::date AND \(until)::date AND \(unescaped: named)
              AND (\(campaignKeys)::text[] IS NULL OR campaign_key = ANY(\(campaignKeys)::text[]))
              AND (\(adSetKey)::text IS NULL OR ad_set_key = \(adSetKey))
              AND (\(adKey)::text IS NULL OR ad_key = \(adKey))
              AND (\(parentKey)::text IS NULL OR campaign_key = \(parentKey) OR ad_set_key = \(parentKey))
              AND (\(sellPage)::uuid IS NULL OR sell_page_id = \(sellPage))
            GROUP BY 1, 2
            """
        return try await StatsReport.Sums.keyed(
            self.db.readAsSeller(sellerID, query, logger: logger) { row in
                let (id, currency, views, carts, checkouts, purchases) = try row.decode((String, String, Int64, Int64, Int64, Int64).self)
                var sums = StatsReport.Sums()
                try sums.add(pageViews: views, addToCarts: carts, checkoutsStarted: checkouts, storefrontPurchases: purchases)
                return (LevelKey(id: id, currency: currency), sums)
            })
    }
}

extension PlacedFunnelEvent.Step {
    init?(_ step: Pixecom_Stats_V1_FunnelStep) {
        switch step {
        case .pageView: self = .pageView
        case .addToCart: self = .addToCart
        case .checkoutStarted: self = .checkoutStarted
        case .purchase: self = .purchase
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}
