import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Where an order event's money counts: its bucket's campaign, ad set and ad (each "" when the
/// order names none that the seller has), and the time zone its sale day is taken in.
struct RevenueAttribution: Sendable, Hashable {
    var campaignKey: String
    var adSetKey: String = ""
    var adKey: String = ""
    /// The attributed ad account's IANA zone; nil when no campaign of the seller is attributed
    /// (the day is then the UTC day).
    var timeZone: String?
}

/// A revenue bucket: one campaign's (and ad's and sell page's) money of one sale day in one currency.
struct RevenueBucket: Sendable, Hashable {
    var campaignKey: String
    var adKey: String
    var sellPageKey: String = ""
    var day: String
    var currency: String
}

/// Order revenue as facts (`revenue_facts`, one row per applied event, never changed), and per
/// bucket aggregates (`ad_daily_revenue`) recomputed from them by `RevenueReaggregation`.
///
/// Invariant: once no bucket is marked dirty, every aggregate row equals the sums of its bucket's
/// facts, whatever the order, duplication or concurrency of the events and of the jobs.
struct RevenueStore: Sendable {
    /// Buckets one job transaction recomputes.
    static let reaggregationBatch = 500

    let db: PostgresClient

    /// Applies an order event at most once; false when its id was applied before (nothing changes).
    ///
    /// The event id, the fact, the bucket's dirty mark and the job that will recompute it commit
    /// together, so a redelivery after a crash at any point finds either all or none of them.
    func record(_ event: RevenueEvent, attribution: RevenueAttribution, logger: Logger) async throws -> Bool {
        try await self.db.withSeller(event.sellerID, logger: logger) { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO processed_events (seller_id, event_id, order_id, kind)
                VALUES (\(event.sellerID), \(event.eventID), \(event.orderID), \(event.kind.rawValue))
                ON CONFLICT (seller_id, event_id) DO NOTHING
                RETURNING event_id
                """,
                logger: logger
            )
            guard try await inserted.collect().count == 1 else { return false }

            let effect = Self.effect(of: event)
            // The bucket: the order's sale, when its PAID fact is here (a refund or chargeback
            // counts where its sale counted, whatever the order's tags or the sale's own event
            // carried); else the attribution, on the sale's day in the ad account's zone
            // (Postgres' own zone data), or the UTC day the order sent when it has no sale time
            // (events written before sale_at existed).
            let facts = try await connection.query(
                """
                WITH sale AS (
                    SELECT campaign_key, ad_set_key, ad_key, sell_page_key, day FROM revenue_facts
                    WHERE seller_id = \(event.sellerID) AND order_id = \(event.orderID) AND kind = 'PAID'
                    ORDER BY recorded_at LIMIT 1
                )
                INSERT INTO revenue_facts
                    (seller_id, event_id, order_id, kind, campaign_key, ad_set_key, ad_key, sell_page_key, day, currency,
                     orders, revenue, refunds, chargebacks, chargeback_reversals, sale_at, occurred_at)
                SELECT \(event.sellerID), \(event.eventID), \(event.orderID), \(event.kind.rawValue),
                       COALESCE(sale.campaign_key, \(attribution.campaignKey)), COALESCE(sale.ad_set_key, \(attribution.adSetKey)),
                       COALESCE(sale.ad_key, \(attribution.adKey)), COALESCE(sale.sell_page_key, \(event.sellPageID)),
                       COALESCE(sale.day,
                                (\(event.saleAt)::timestamptz AT TIME ZONE COALESCE(\(attribution.timeZone), 'UTC'))::date,
                                \(event.attributedDay.isEmpty ? nil : event.attributedDay)::date),
                       \(event.currency), \(effect.orders), \(effect.revenue), \(effect.refunds), \(effect.chargebacks),
                       \(effect.reversals), \(event.saleAt), \(event.occurredAt)
                FROM (VALUES (1)) AS one (n) LEFT JOIN sale ON true
                RETURNING campaign_key, ad_key, sell_page_key, day::text
                """,
                logger: logger
            )
            var recorded: (campaign: String, ad: String, sellPage: String, day: String)?
            for try await row in facts.decode((String, String, String, String).self) { recorded = row }
            guard let recorded else {
                throw PostgresRecordError.missing("revenue fact")
            }
            let bucket = RevenueBucket(
                campaignKey: recorded.campaign, adKey: recorded.ad, sellPageKey: recorded.sellPage, day: recorded.day,
                currency: event.currency)
            try await Self.markDirty(bucket, sellerID: event.sellerID, on: connection, logger: logger)
            try await Jobs.enqueue(
                RevenueReaggregation.self, RevenueReaggregation.Args(sellerID: event.sellerID), JobOptions(sellerID: event.sellerID),
                on: connection, logger: logger)
            return true
        }
    }

    /// Marks a bucket for recomputation. `DO UPDATE` (not `DO NOTHING`) takes the mark's row lock:
    /// when a job is recomputing the bucket right now this waits for it, and the mark outlives it.
    static func markDirty(_ bucket: RevenueBucket, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO revenue_dirty_buckets (seller_id, campaign_key, ad_key, sell_page_key, day, currency)
            VALUES (\(sellerID), \(bucket.campaignKey), \(bucket.adKey), \(bucket.sellPageKey), \(bucket.day)::date, \(bucket.currency))
            ON CONFLICT (seller_id, campaign_key, ad_key, sell_page_key, day, currency) DO UPDATE SET marked_at = now()
            """,
            logger: logger
        )
    }

    /// The additive effect of one event on its bucket.
    static func effect(of event: RevenueEvent) -> (orders: Int64, revenue: Int64, refunds: Int64, chargebacks: Int64, reversals: Int64) {
        switch event.kind {
        case .paid: (1, event.amount, 0, 0, 0)
        case .refunded: (0, 0, event.amount, 0, 0)
        case .chargedBack: (0, 0, 0, event.amount, 0)
        case .chargebackReversed: (0, 0, 0, 0, event.amount)
        }
    }

    /// Recomputes up to `limit` dirty buckets of one seller from their facts; returns how many.
    ///
    /// Three statements in one transaction, each with its own snapshot: the first locks the marks
    /// (skipping those a writer holds: its own job follows), so every fact committed with a mark
    /// taken here is visible to the second, which rewrites the aggregates from the facts; a writer
    /// that comes later waits for the lock and leaves a new mark. Any number of jobs, in any number
    /// of replicas, may run this at once.
    func reaggregate(sellerID: UUID, limit: Int = Self.reaggregationBatch, logger: Logger) async throws -> Int {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let marks = try await connection.query(
                """
                SELECT campaign_key, ad_key, sell_page_key, day::text, currency FROM revenue_dirty_buckets
                WHERE seller_id = \(sellerID)
                ORDER BY marked_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var buckets: [RevenueBucket] = []
            for try await (campaign, ad, sellPage, day, currency) in marks.decode((String, String, String, String, String).self) {
                buckets.append(RevenueBucket(campaignKey: campaign, adKey: ad, sellPageKey: sellPage, day: day, currency: currency))
            }
            guard !buckets.isEmpty else { return 0 }
            let campaigns = buckets.map(\.campaignKey)
            let ads = buckets.map(\.adKey)
            let sellPages = buckets.map(\.sellPageKey)
            let days = buckets.map(\.day)
            let currencies = buckets.map(\.currency)
            try await connection.query(
                """
                INSERT INTO ad_daily_revenue
                    (seller_id, campaign_key, ad_key, sell_page_key, day, currency, ad_set_key, orders, revenue, refunds, chargebacks,
                     chargeback_reversals, updated_at)
                SELECT \(sellerID), b.campaign_key, b.ad_key, b.sell_page_key, b.day, b.currency, COALESCE(max(f.ad_set_key), ''),
                       COALESCE(sum(f.orders), 0), COALESCE(sum(f.revenue), 0), COALESCE(sum(f.refunds), 0),
                       COALESCE(sum(f.chargebacks), 0), COALESCE(sum(f.chargeback_reversals), 0), now()
                FROM unnest(\(campaigns)::text[], \(ads)::text[], \(sellPages)::text[], \(days)::date[], \(currencies)::text[])
                    AS b(campaign_key, ad_key, sell_page_key, day, currency)
                LEFT JOIN revenue_facts f
                    ON f.seller_id = \(sellerID) AND f.campaign_key = b.campaign_key AND f.ad_key = b.ad_key
                   AND f.sell_page_key = b.sell_page_key AND f.day = b.day AND f.currency = b.currency
                GROUP BY b.campaign_key, b.ad_key, b.sell_page_key, b.day, b.currency
                ON CONFLICT (seller_id, campaign_key, ad_key, sell_page_key, day, currency) DO UPDATE SET
                    ad_set_key = EXCLUDED.ad_set_key,
                    orders = EXCLUDED.orders,
                    revenue = EXCLUDED.revenue,
                    refunds = EXCLUDED.refunds,
                    chargebacks = EXCLUDED.chargebacks,
                    chargeback_reversals = EXCLUDED.chargeback_reversals,
                    updated_at = now()
                """,
                logger: logger
            )
            try await connection.query(
                """
                DELETE FROM revenue_dirty_buckets d
                USING unnest(\(campaigns)::text[], \(ads)::text[], \(sellPages)::text[], \(days)::date[], \(currencies)::text[])
                    AS b(campaign_key, ad_key, sell_page_key, day, currency)
                WHERE d.seller_id = \(sellerID) AND d.campaign_key = b.campaign_key AND d.ad_key = b.ad_key
                  AND d.sell_page_key = b.sell_page_key AND d.day = b.day AND d.currency = b.currency
                """,
                logger: logger
            )
            return buckets.count
        }
    }

    /// Whether any bucket of the seller is marked (committed marks, locked or not).
    func hasMarks(sellerID: UUID, logger: Logger) async throws -> Bool {
        let query: PostgresQuery = "SELECT EXISTS (SELECT 1 FROM revenue_dirty_buckets WHERE seller_id = \(sellerID))"
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { try $0.decode(Bool.self) }.first ?? false
    }

    /// A campaign's revenue sums per day and currency over `since...until` (inclusive), in one
    /// scoped read of the aggregates.
    func dailyRevenue(sellerID: UUID, campaignID: String, since: String, until: String, logger: Logger) async throws -> [DailyRevenue] {
        let query: PostgresQuery = """
            SELECT day::text, currency, sum(orders)::bigint, sum(revenue)::bigint, sum(refunds)::bigint,
                   sum(chargebacks)::bigint, sum(chargeback_reversals)::bigint
            FROM ad_daily_revenue
            WHERE seller_id = \(sellerID) AND campaign_key = \(campaignID)
              AND day BETWEEN \(since)::date AND \(until)::date
            GROUP BY day, currency
            ORDER BY day, currency
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (day, currency, orders, revenue, refunds, chargebacks, reversals) = try row.decode(
                (String, String, Int64, Int64, Int64, Int64, Int64).self)
            return DailyRevenue(
                day: day, currency: currency, orders: orders, revenue: revenue, refunds: refunds, chargebacks: chargebacks - reversals)
        }
    }

    /// Revenue sums within `scope` over `since...until` (sale days), per currency and per day or
    /// per object of a level (`LevelKey.id`), in one scoped read. Grouped by level, revenue that
    /// names no object of the level is left out; by day, the seller's scope includes it.
    func sums(sellerID: UUID, by grouping: StatsGrouping, scope: StatsScope, since: String, until: String, logger: Logger) async throws
        -> [LevelKey: StatsReport.Sums]
    {
        let (column, named) = grouping.textKeyColumns
        let (campaignKeys, adSetKey, adKey, parentKey) = scope.textKeys
        let sellPageKey = scope.sellPage?.uuidString.lowercased()
        let query: PostgresQuery = """
            SELECT \(unescaped: column), currency, sum(orders)::bigint, sum(revenue)::bigint, sum(refunds)::bigint,
                   sum(chargebacks - chargeback_reversals)::bigint
            FROM ad_daily_revenue
            WHERE seller_id = \(sellerID) AND day BETWEEN \(since)::date AND \(until)::date AND \(unescaped: named)
              AND (\(campaignKeys)::text[] IS NULL OR campaign_key = ANY(\(campaignKeys)::text[]))
              AND (\(adSetKey)::text IS NULL OR ad_set_key = \(adSetKey))
              AND (\(adKey)::text IS NULL OR ad_key = \(adKey))
              AND (\(parentKey)::text IS NULL OR campaign_key = \(parentKey) OR ad_set_key = \(parentKey))
              AND (\(sellPageKey)::text IS NULL OR sell_page_key = \(sellPageKey))
            GROUP BY 1, 2
            """
        return try await StatsReport.Sums.keyed(
            self.db.readAsSeller(sellerID, query, logger: logger) { row in
                let (id, currency, orders, revenue, refunds, chargebacks) = try row.decode(
                    (String, String, Int64, Int64, Int64, Int64).self)
                var sums = StatsReport.Sums()
                try sums.add(orders: orders, revenue: revenue, refunds: refunds, chargebacks: chargebacks)
                return (LevelKey(id: id, currency: currency), sums)
            })
    }
}

/// A statement that should have returned a row did not.
struct PostgresRecordError: Error, CustomStringConvertible {
    var what: String
    static func missing(_ what: String) -> Self { Self(what: what) }
    var description: String { "\(self.what): the statement returned no row" }
}

/// Recomputes the dirty revenue buckets of one seller (enqueued with every applied event).
struct RevenueReaggregation: JobKind {
    struct Args: Codable, Sendable, Equatable {
        var sellerID: UUID
        enum CodingKeys: String, CodingKey { case sellerID = "seller_id" }
    }

    static let name = "stats.revenue_reaggregate"

    let store: RevenueStore

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        var total = 0
        while true {
            let done = try await self.store.reaggregate(sellerID: job.args.sellerID, logger: job.logger)
            total += done
            if done < RevenueStore.reaggregationBatch { break }
        }
        job.logger.debug("stats.revenue.reaggregated", metadata: ["stats.buckets": "\(total)"])
        // A mark skipped because a writer held it is normally that writer's job to clear; if the
        // writer rolled back, its job never comes and the mark (committed earlier) stays. Marks
        // still there now are looked at again shortly.
        if try await self.store.hasMarks(sellerID: job.args.sellerID, logger: job.logger) {
            return .snooze(.seconds(1))
        }
        return .completed
    }
}
