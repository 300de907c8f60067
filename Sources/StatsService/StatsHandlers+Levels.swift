import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// Which rows a sum covers: every row of the seller, those of one object (an ad account's by its
/// campaigns), those under a campaign or an ad set (the ads manager's drill-down), or those of a
/// sell page (its funnel and its orders' revenue; spend is not split between pages).
enum StatsScope: Sendable {
    case seller
    case campaigns([UUID])
    case adSet(UUID)
    case ad(UUID)
    case under(UUID)
    case sellPage(UUID)
}

/// How sums are grouped: by day, or by the objects of a level.
enum StatsGrouping: Sendable, Equatable {
    case day
    case level(AdsManagerQuery.Level)
}

extension StatsHandlers {
    /// Stats at any level, per day or in total, one group per currency. The object is first
    /// looked up in CampaignService for the caller's seller (one call), so another seller's id is
    /// NOT_FOUND exactly like a missing one; then two scoped reads sum delivery and revenue.
    func getStats(_ request: Pixecom_Stats_V1_StatsRequest, context: ServerContext) async throws -> Pixecom_Stats_V1_StatsByCurrency {
        let claims = try await context.authenticate(with: self.verifier)
        let sellerID = try claims.sellerUUID()
        var violations = FieldViolations()
        let since = try violations.check { try RequestValidation.day(request.since, field: "since") }
        let until = try violations.check { try RequestValidation.day(request.until, field: "until") }
        var id: UUID?
        if request.level == .seller {
            if !request.id.isEmpty { violations.add(field: "id", "must be empty for the SELLER level") }
        } else {
            id = try violations.check { try RequestValidation.id(request.id, field: "id") }
        }
        if case .UNRECOGNIZED = request.level { violations.add(field: "level", Self.levelsAccepted) }
        if request.level == .unspecified { violations.add(field: "level", Self.levelsAccepted) }
        if case .UNRECOGNIZED = request.granularity { violations.add(field: "granularity", "must be DAY or TOTAL") }
        try violations.throwIfAny()
        guard let since, let until else { throw RPCError(.internal, "stats validation left a field unset") }
        guard since <= until else { throw RPCError.invalidArgument(field: "until", "must not be before since (\(request.since))") }
        let dayCount = StatsReport.dayCount(from: since, through: until)
        guard dayCount <= StatsValidation.maxRangeDays else {
            throw RPCError.invalidArgument(
                field: "until", "range covers \(dayCount) days; at most \(StatsValidation.maxRangeDays) are allowed")
        }

        let scope: StatsScope
        switch (request.level, id) {
        case (.adAccount, let account?):
            scope = .campaigns(
                try await self.campaigns.objects(sellerID: sellerID, level: .campaign, parentID: account).compactMap {
                    UUID(canonical: $0.id)
                })
        case (.campaign, let campaign?):
            _ = try await self.campaigns.placement(ofCampaign: campaign, sellerID: sellerID)
            scope = .campaigns([campaign])
        case (.adSet, let adSet?):
            // The ad set's ads; NOT_FOUND when the seller has no such ad set (or ad account or campaign).
            _ = try await self.campaigns.objects(sellerID: sellerID, level: .ad, parentID: adSet)
            scope = .adSet(adSet)
        case (.ad, let ad?):
            guard try await self.campaigns.placements(sellerID: sellerID, ads: [ad]).ads[ad] != nil else {
                throw RPCError.notFound("ad")
            }
            scope = .ad(ad)
        case (.sellPage, let page?):
            // Sell pages are OrderService's: a page this seller has no events or orders of reads
            // as zeros, never as another seller's numbers (every read is scoped to the caller).
            scope = .sellPage(page)
        default:
            scope = .seller
        }
        async let spent = self.insights.sums(
            sellerID: sellerID, by: .day, scope: scope, since: request.since, until: request.until, logger: context.logger)
        async let earned = self.revenue.sums(
            sellerID: sellerID, by: .day, scope: scope, since: request.since, until: request.until, logger: context.logger)
        async let visited = self.funnel.sums(
            sellerID: sellerID, by: .day, scope: scope, since: request.since, until: request.until, logger: context.logger)
        let (spend, revenue, funnel) = try await (spent, earned, visited)

        var byCurrency: [String: [String: StatsReport.Sums]] = [:]
        for part in [spend, revenue, funnel] {
            for (key, sums) in part { try byCurrency[key.currency, default: [:]][key.id, default: StatsReport.Sums()].add(sums) }
        }
        let days = StatsReport.days(from: since, through: until)
        var answer = Pixecom_Stats_V1_StatsByCurrency()
        for (currency, perDay) in byCurrency.sorted(by: { $0.key < $1.key }) {
            var group = Pixecom_Stats_V1_CurrencyStats()
            group.currency = currency
            var total = StatsReport.Sums()
            for day in days {
                let sums = perDay[day] ?? StatsReport.Sums()
                try total.add(sums)
                if request.granularity != .total { group.days.append(try sums.dailyStats(date: day)) }
            }
            group.total = try total.dailyStats(date: "")
            answer.currencies.append(group)
        }
        return answer
    }
}

extension StatsHandlers {
    static let levelsAccepted = "must be SELLER, AD_ACCOUNT, CAMPAIGN, AD_SET, AD or SELL_PAGE"
}

extension StatsGrouping {
    /// The grouping column of the tables keyed by text (revenue and funnel aggregates), and the
    /// condition that keeps rows naming an object of the level (every row when by day).
    var textKeyColumns: (column: String, named: String) {
        let column =
            switch self {
            case .day: "day::text"
            case .level(.campaign): "campaign_key"
            case .level(.adSet): "ad_set_key"
            case .level(.ad): "ad_key"
            }
        return (column, self == .day ? "true" : "\(column) <> ''")
    }
}

extension StatsScope {
    /// `filters` as the lower-case text keys of the revenue and funnel tables.
    var textKeys: (campaigns: [String]?, adSet: String?, ad: String?, parent: String?) {
        let (campaigns, adSet, ad, parent) = self.filters
        return (
            campaigns?.map { $0.uuidString.lowercased() }, adSet?.uuidString.lowercased(), ad?.uuidString.lowercased(),
            parent?.uuidString.lowercased()
        )
    }

    /// The scope as optional binds: a NULL one does not narrow (custom plans fold it away). A
    /// sell page's scope narrows by `sellPage` alone.
    var filters: (campaigns: [UUID]?, adSet: UUID?, ad: UUID?, parent: UUID?) {
        switch self {
        case .seller, .sellPage: (nil, nil, nil, nil)
        case .campaigns(let ids): (ids, nil, nil, nil)
        case .adSet(let id): (nil, id, nil, nil)
        case .ad(let id): (nil, nil, id, nil)
        case .under(let id): (nil, nil, nil, id)
        }
    }

    /// The sell page a scope narrows to, if any.
    var sellPage: UUID? {
        if case .sellPage(let id) = self { return id }
        return nil
    }
}
