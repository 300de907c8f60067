import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Ad delivery sums of one day in one currency, as stored.
struct DailySpend: Sendable, Hashable {
    var day: String
    var currency: String
    var spend: Int64
    var impressions: Int64
    var clicks: Int64
    var purchases: Int64 = 0
}

/// Order revenue sums of one day in one currency, as stored.
struct DailyRevenue: Sendable, Hashable {
    var day: String
    var currency: String
    var orders: Int64
    var revenue: Int64
    var refunds: Int64
    /// Charged back, net of reversals.
    var chargebacks: Int64 = 0
}

/// Builds a campaign's stats report from stored daily sums. Pure: no I/O.
///
/// Invariant: ratios are computed only here, from the sums of exactly the span they describe (one
/// day, or the whole range for `total`); they are never stored and never averaged, and a ratio
/// whose denominator is zero is left unset rather than reported as 0.
enum StatsReport {
    private static let secondsPerDay: TimeInterval = 86_400

    /// Days from `since` through `until`, both included; both are UTC midnights.
    static func dayCount(from since: Date, through until: Date) -> Int {
        Int(((until.timeIntervalSince(since)) / Self.secondsPerDay).rounded()) + 1
    }

    /// Every calendar day of the range, "YYYY-MM-DD", in order.
    static func days(from since: Date, through until: Date) -> [String] {
        let count = Self.dayCount(from: since, through: until)
        guard count > 0 else { return [] }
        return (0..<count).map { offset in
            RequestValidation.dayText(since.addingTimeInterval(Double(offset) * Self.secondsPerDay))
        }
    }

    /// The report: one entry per day of the range (zeros where nothing was recorded) and the total,
    /// all in `currency`, the campaign's (its ad account's).
    ///
    /// Revenue of orders in another currency is not the campaign's to count: it goes to
    /// `unattributed_revenue`, per currency, and never into a sum or a ratio. Spend in another
    /// currency can only be insights stored before ingestion checked currencies; it throws
    /// FAILED_PRECONDITION naming the days to restate, since no sum of it would mean anything.
    static func build(
        campaignID: String,
        currency: String,
        since: Date,
        until: Date,
        spend: [DailySpend],
        revenue: [DailyRevenue]
    ) throws -> Pixecom_Stats_V1_CampaignStats {
        let foreignSpend = spend.filter { $0.currency != currency }
        guard foreignSpend.isEmpty else {
            let days = Set(foreignSpend.map(\.day)).sorted()
            let currencies = Set(foreignSpend.map(\.currency)).sorted()
            throw RPCError(
                .failedPrecondition,
                "campaign's ad account is in \(currency) but insights of \(days.count) day(s) from \(days[0]) are in "
                    + "\(currencies.joined(separator: ", ")); restate those days in \(currency) (POST /v1/insights)"
            )
        }
        var sums: [String: Sums] = [:]
        var unattributed: [String: Sums] = [:]
        for row in spend {
            try sums[row.day, default: Sums()].add(
                spend: row.spend, impressions: row.impressions, clicks: row.clicks, purchases: row.purchases)
        }
        for row in revenue {
            if row.currency == currency {
                try sums[row.day, default: Sums()].add(
                    orders: row.orders, revenue: row.revenue, refunds: row.refunds, chargebacks: row.chargebacks)
            } else {
                try unattributed[row.currency, default: Sums()].add(
                    orders: row.orders, revenue: row.revenue, refunds: row.refunds, chargebacks: row.chargebacks)
            }
        }
        var report = Pixecom_Stats_V1_CampaignStats()
        report.campaignID = campaignID
        report.currency = currency
        var total = Sums()
        for day in Self.days(from: since, through: until) {
            let daySums = sums[day] ?? Sums()
            try total.add(daySums)
            report.days.append(try daySums.dailyStats(date: day))
        }
        report.total = try total.dailyStats(date: "")
        for (otherCurrency, other) in unattributed.sorted(by: { $0.key < $1.key }) {
            let net = try other.dailyStats(date: "").netRevenue
            var entry = Pixecom_Stats_V1_UnattributedRevenue()
            entry.currency = otherCurrency
            entry.reason = .currencyMismatch
            entry.orders = other.orders
            entry.revenue = other.revenue
            entry.refunds = other.refunds
            entry.chargebacks = other.chargebacks
            entry.netRevenue = net
            report.unattributedRevenue.append(entry)
        }
        return report
    }

    /// Additive sums; every addition is overflow-checked.
    struct Sums: Sendable, Hashable {
        var spend: Int64 = 0
        var impressions: Int64 = 0
        var clicks: Int64 = 0
        var orders: Int64 = 0
        var revenue: Int64 = 0
        var refunds: Int64 = 0
        var chargebacks: Int64 = 0
        var purchases: Int64 = 0
        var pageViews: Int64 = 0
        var addToCarts: Int64 = 0
        var checkoutsStarted: Int64 = 0
        var storefrontPurchases: Int64 = 0

        mutating func add(
            spend: Int64 = 0, impressions: Int64 = 0, clicks: Int64 = 0, orders: Int64 = 0, revenue: Int64 = 0, refunds: Int64 = 0,
            chargebacks: Int64 = 0, purchases: Int64 = 0, pageViews: Int64 = 0, addToCarts: Int64 = 0, checkoutsStarted: Int64 = 0,
            storefrontPurchases: Int64 = 0
        ) throws {
            self.pageViews = try Self.sum(self.pageViews, pageViews)
            self.addToCarts = try Self.sum(self.addToCarts, addToCarts)
            self.checkoutsStarted = try Self.sum(self.checkoutsStarted, checkoutsStarted)
            self.storefrontPurchases = try Self.sum(self.storefrontPurchases, storefrontPurchases)
            self.spend = try Self.sum(self.spend, spend)
            self.impressions = try Self.sum(self.impressions, impressions)
            self.clicks = try Self.sum(self.clicks, clicks)
            self.orders = try Self.sum(self.orders, orders)
            self.revenue = try Self.sum(self.revenue, revenue)
            self.refunds = try Self.sum(self.refunds, refunds)
            self.chargebacks = try Self.sum(self.chargebacks, chargebacks)
            self.purchases = try Self.sum(self.purchases, purchases)
        }

        mutating func add(_ other: Sums) throws {
            try self.add(
                spend: other.spend,
                impressions: other.impressions,
                clicks: other.clicks,
                orders: other.orders,
                revenue: other.revenue,
                refunds: other.refunds,
                chargebacks: other.chargebacks,
                purchases: other.purchases,
                pageViews: other.pageViews,
                addToCarts: other.addToCarts,
                checkoutsStarted: other.checkoutsStarted,
                storefrontPurchases: other.storefrontPurchases
            )
        }

        /// The wire form, with the ratios of these sums.
        func dailyStats(date: String) throws -> Pixecom_Stats_V1_DailyStats {
            let (afterRefunds, overflow) = self.revenue.subtractingReportingOverflow(self.refunds)
            let (net, overflow2) = afterRefunds.subtractingReportingOverflow(self.chargebacks)
            guard !overflow, !overflow2 else { throw Self.overflowError }
            var stats = Pixecom_Stats_V1_DailyStats()
            stats.date = date
            stats.spend = self.spend
            stats.impressions = self.impressions
            stats.clicks = self.clicks
            stats.orders = self.orders
            stats.revenue = self.revenue
            stats.refunds = self.refunds
            stats.chargebacks = self.chargebacks
            stats.purchases = self.purchases
            stats.netRevenue = net
            if self.impressions > 0 {
                stats.cpm = Double(self.spend) * 1000 / Double(self.impressions)
                stats.ctr = Double(self.clicks) / Double(self.impressions)
            }
            if self.clicks > 0 {
                stats.cpc = Double(self.spend) / Double(self.clicks)
            }
            if self.spend > 0 {
                stats.roas = Double(net) / Double(self.spend)
            }
            if self.orders > 0 {
                stats.cpa = Double(self.spend) / Double(self.orders)
            }
            stats.pageViews = self.pageViews
            stats.addToCarts = self.addToCarts
            stats.checkoutsStarted = self.checkoutsStarted
            stats.storefrontPurchases = self.storefrontPurchases
            if self.pageViews > 0 {
                stats.cr1 = Double(self.addToCarts) / Double(self.pageViews)
            }
            if self.addToCarts > 0 {
                stats.cr2 = Double(self.checkoutsStarted) / Double(self.addToCarts)
            }
            if self.checkoutsStarted > 0 {
                stats.cr3 = Double(self.storefrontPurchases) / Double(self.checkoutsStarted)
            }
            return stats
        }

        /// Rows of a grouped read as a dictionary (each key comes once from a GROUP BY).
        static func keyed(_ rows: [(LevelKey, Sums)]) -> [LevelKey: Sums] {
            Dictionary(rows, uniquingKeysWith: { first, _ in first })
        }

        private static let overflowError = RPCError(.internal, "stats sums exceed the 64-bit range")

        private static func sum(_ a: Int64, _ b: Int64) throws -> Int64 {
            let (result, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw Self.overflowError }
            return result
        }
    }
}
