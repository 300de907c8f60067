import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Order revenue per campaign and day in `campaign_daily_revenue`, with the ids of applied events
/// in `processed_events`.
struct RevenueStore: Sendable {
    let db: PostgresClient

    /// Applies an order event at most once; false when its id was applied before (nothing changes).
    ///
    /// The event id and the revenue change commit together, so a redelivery after a crash at any
    /// point either finds the id (and skips) or finds neither (and applies).
    func record(_ event: RevenueEvent, logger: Logger) async throws -> Bool {
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
            var isNew = false
            for try await _ in inserted.decode(UUID.self) { isNew = true }
            guard isNew else { return false }

            let orders: Int64 = event.kind == .paid ? 1 : 0
            let revenue: Int64 = event.kind == .paid ? event.amount : 0
            let refunds: Int64 = event.kind == .refunded ? event.amount : 0
            try await connection.query(
                """
                INSERT INTO campaign_daily_revenue (seller_id, campaign_id, day, currency, orders, revenue, refunds)
                VALUES (\(event.sellerID), \(event.campaignID), \(event.attributedDay)::date, \(event.currency),
                        \(orders), \(revenue), \(refunds))
                ON CONFLICT (seller_id, campaign_id, day, currency) DO UPDATE SET
                    orders = campaign_daily_revenue.orders + EXCLUDED.orders,
                    revenue = campaign_daily_revenue.revenue + EXCLUDED.revenue,
                    refunds = campaign_daily_revenue.refunds + EXCLUDED.refunds,
                    updated_at = now()
                """,
                logger: logger
            )
            return true
        }
    }

    /// A campaign's revenue sums per day and currency over `since...until` (inclusive), in one
    /// scoped read.
    func dailyRevenue(sellerID: UUID, campaignID: String, since: String, until: String, logger: Logger) async throws -> [DailyRevenue] {
        let query: PostgresQuery = """
            SELECT day::text, currency, orders, revenue, refunds
            FROM campaign_daily_revenue
            WHERE seller_id = \(sellerID) AND campaign_id = \(campaignID)
              AND day BETWEEN \(since)::date AND \(until)::date
            ORDER BY day, currency
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (day, currency, orders, revenue, refunds) = try row.decode((String, String, Int64, Int64, Int64).self)
            return DailyRevenue(day: day, currency: currency, orders: orders, revenue: revenue, refunds: refunds)
        }
    }
}
