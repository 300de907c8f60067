import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A metric of the ads manager: a sum, or a ratio computed from the sums.
enum AdsManagerMetric: String, Sendable, CaseIterable {
    case spend, impressions, clicks, purchases, orders, revenue, refunds, chargebacks
    case netRevenue = "net_revenue"
    case cpm, ctr, cpc, cpa, roas
    case pageViews = "page_views"
    case addToCarts = "add_to_carts"
    case checkoutsStarted = "checkouts_started"
    case storefrontPurchases = "storefront_purchases"
    case cr1, cr2, cr3

    /// The metric's value in `stats`; nil for a ratio whose denominator is zero.
    func value(in stats: Pixecom_Stats_V1_DailyStats) -> Double? {
        switch self {
        case .spend: Double(stats.spend)
        case .impressions: Double(stats.impressions)
        case .clicks: Double(stats.clicks)
        case .purchases: Double(stats.purchases)
        case .orders: Double(stats.orders)
        case .revenue: Double(stats.revenue)
        case .refunds: Double(stats.refunds)
        case .chargebacks: Double(stats.chargebacks)
        case .netRevenue: Double(stats.netRevenue)
        case .cpm: stats.hasCpm ? stats.cpm : nil
        case .ctr: stats.hasCtr ? stats.ctr : nil
        case .cpc: stats.hasCpc ? stats.cpc : nil
        case .cpa: stats.hasCpa ? stats.cpa : nil
        case .roas: stats.hasRoas ? stats.roas : nil
        case .pageViews: Double(stats.pageViews)
        case .addToCarts: Double(stats.addToCarts)
        case .checkoutsStarted: Double(stats.checkoutsStarted)
        case .storefrontPurchases: Double(stats.storefrontPurchases)
        case .cr1: stats.hasCr1 ? stats.cr1 : nil
        case .cr2: stats.hasCr2 ? stats.cr2 : nil
        case .cr3: stats.hasCr3 ? stats.cr3 : nil
        }
    }

    static let names = Self.allCases.map(\.rawValue).joined(separator: ", ")
}

/// One threshold of an ads manager filter: `roas<1.2`.
struct MetricThreshold: Sendable, Hashable {
    enum Comparison: String, Sendable, CaseIterable {
        // Two-character operators first: "<=" must not be read as "<" followed by "=1".
        case atMost = "<="
        case atLeast = ">="
        case below = "<"
        case above = ">"
        case equal = "="
    }

    var metric: AdsManagerMetric
    var comparison: Comparison
    var value: Double

    /// A row without the metric (a ratio over zero) passes no threshold on it.
    func admits(_ stats: Pixecom_Stats_V1_DailyStats) -> Bool {
        guard let actual = self.metric.value(in: stats) else { return false }
        switch self.comparison {
        case .atMost: return actual <= self.value
        case .atLeast: return actual >= self.value
        case .below: return actual < self.value
        case .above: return actual > self.value
        case .equal: return actual == self.value
        }
    }
}

/// Where a page ends: the last row's sort value and id. Rows after it in the sort order follow.
/// The token is text safe in a URL: the value's 64 bits in hex ("n" when the row had none), a dot,
/// the id.
struct AdsManagerCursor: Sendable, Hashable {
    static let pattern = "^(n|[0-9a-f]{16})\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    var value: Double?
    var id: String

    var token: String {
        let value = self.value.map { String($0.bitPattern, radix: 16).leftPadded(to: 16) } ?? "n"
        return "\(value).\(self.id)"
    }

    init(value: Double?, id: String) {
        self.value = value
        self.id = id
    }

    init(token: String) throws {
        let refused = RPCError.invalidArgument(field: "page_token", "is not a token returned by this API")
        let parts = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts[1].count == 36, parts[1] == parts[1].lowercased(), UUID(uuidString: parts[1]) != nil else {
            throw refused
        }
        if parts[0] == "n" {
            self.value = nil
        } else if parts[0].count == 16, parts[0] == parts[0].lowercased(), let bits = UInt64(parts[0], radix: 16),
            !Double(bitPattern: bits).isNaN
        {
            self.value = Double(bitPattern: bits)
        } else {
            throw refused
        }
        self.id = parts[1]
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}

/// A validated GetAdsManager request.
struct AdsManagerQuery: Sendable {
    enum Level: String, Sendable {
        case campaign
        case adSet = "ad_set"
        case ad
    }

    static let maxFilters = 10

    var level: Level
    var since: String
    var until: String
    var parentID: UUID?
    var sort: AdsManagerMetric
    var descending: Bool
    var filters: [MetricThreshold]
    var pageSize: Int
    var after: AdsManagerCursor?

    init(_ request: Pixecom_Stats_V1_AdsManagerRequest) throws {
        var violations = FieldViolations()
        var level: Level?
        switch request.level {
        case .campaign: level = .campaign
        case .adSet: level = .adSet
        case .ad: level = .ad
        case .seller, .adAccount, .sellPage, .unspecified, .UNRECOGNIZED: violations.add(field: "level", "must be CAMPAIGN, AD_SET or AD")
        }
        let since = try violations.check { try RequestValidation.day(request.since, field: "since") }
        let until = try violations.check { try RequestValidation.day(request.until, field: "until") }
        var parentID: UUID?
        if !request.parentID.isEmpty {
            parentID = try violations.check { try RequestValidation.id(request.parentID, field: "parent_id") }
            if level == .campaign { violations.add(field: "parent_id", "campaigns have no parent here; leave it empty") }
        }
        let sortText = request.sort.isEmpty ? "-spend" : request.sort
        let descending = sortText.hasPrefix("-")
        let sort = AdsManagerMetric(rawValue: String(descending ? sortText.dropFirst() : Substring(sortText)))
        if sort == nil {
            violations.add(
                field: "sort", "must be a metric (\(AdsManagerMetric.names)), \"-\" in front for descending; got \"\(sortText.prefix(40))\""
            )
        }
        let filters = Self.filters(request.filter, violations: &violations)
        let pageSize = try violations.check { try RequestValidation.pageSize(request.pageSize) }
        let after = try violations.check { request.pageToken.isEmpty ? nil : try AdsManagerCursor(token: request.pageToken) }
        try violations.throwIfAny()
        guard let level, let since, let until, let sort, let pageSize else {
            throw RPCError(.internal, "ads manager validation left a field unset")
        }
        guard since <= until else { throw RPCError.invalidArgument(field: "until", "must not be before since (\(request.since))") }
        let days = StatsReport.dayCount(from: since, through: until)
        guard days <= StatsValidation.maxRangeDays else {
            throw RPCError.invalidArgument(field: "until", "range covers \(days) days; at most \(StatsValidation.maxRangeDays) are allowed")
        }
        self.level = level
        self.since = request.since
        self.until = request.until
        self.parentID = parentID
        self.sort = sort
        self.descending = descending
        self.filters = filters
        self.pageSize = pageSize
        self.after = after ?? nil
    }

    /// "roas<1.2,spend>5000": each clause a metric, an operator and a number.
    static func filters(_ text: String, violations: inout FieldViolations) -> [MetricThreshold] {
        guard !text.isEmpty else { return [] }
        let clauses = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard clauses.count <= Self.maxFilters else {
            violations.add(field: "filter", "must hold at most \(Self.maxFilters) thresholds, got \(clauses.count)")
            return []
        }
        var thresholds: [MetricThreshold] = []
        for clause in clauses {
            let shown = "\"\(clause.prefix(60))\""
            guard
                let comparison = MetricThreshold.Comparison.allCases.first(where: { clause.contains($0.rawValue) }),
                let range = clause.range(of: comparison.rawValue)
            else {
                violations.add(field: "filter", "\(shown) has no comparison; write metric<value, <=, >, >= or =, e.g. roas<1.2")
                continue
            }
            let name = clause[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let number = clause[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let metric = AdsManagerMetric(rawValue: name) else {
                violations.add(field: "filter", "\(shown) names no metric; metrics are \(AdsManagerMetric.names)")
                continue
            }
            guard let value = Double(number), value.isFinite else {
                violations.add(field: "filter", "\(shown) compares with \"\(number.prefix(30))\", which is not a number")
                continue
            }
            thresholds.append(MetricThreshold(metric: metric, comparison: comparison, value: value))
        }
        return thresholds
    }

    /// Whether `a` comes before `b` in the requested order: rows with the metric first (ascending
    /// or descending), then those without; ties by id.
    func precedes(_ a: (value: Double?, id: String), _ b: (value: Double?, id: String)) -> Bool {
        switch (a.value, b.value) {
        case (let x?, let y?) where x != y: return self.descending ? x > y : x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.id < b.id
        }
    }
}
