import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// A row's sums key: the object's id and a currency.
struct LevelKey: Sendable, Hashable {
    var id: String
    var currency: String
}

extension StatsHandlers {
    /// The ads manager. One call to CampaignService names every object of the selection with its
    /// status and currency; three scoped reads sum its delivery, revenue and storefront funnel over
    /// the range. Rows are
    /// then filtered, summarised per currency, sorted and cut into pages here.
    ///
    /// Every object is listed, with zeros where nothing happened, so a new or silent campaign shows
    /// in the table as it does in Meta's. A row's amounts are in its ad account's currency; revenue
    /// of its orders in another currency stays out (as in a campaign's stats).
    func getAdsManager(_ request: Pixecom_Stats_V1_AdsManagerRequest, context: ServerContext) async throws
        -> Pixecom_Stats_V1_AdsManagerPage
    {
        let claims = try await context.authenticate(with: self.verifier)
        let sellerID = try claims.sellerUUID()
        let query = try AdsManagerQuery(request)
        async let described = self.campaigns.objects(sellerID: sellerID, level: query.level, parentID: query.parentID)
        let scope = query.parentID.map { StatsScope.under($0) } ?? .seller
        async let spent = self.insights.sums(
            sellerID: sellerID, by: .level(query.level), scope: scope, since: query.since, until: query.until, logger: context.logger)
        async let earned = self.revenue.sums(
            sellerID: sellerID, by: .level(query.level), scope: scope, since: query.since, until: query.until, logger: context.logger)
        async let visited = self.funnel.sums(
            sellerID: sellerID, by: .level(query.level), scope: scope, since: query.since, until: query.until, logger: context.logger)
        let (objects, spend, revenue, funnel) = try await (described, spent, earned, visited)

        var rows: [(value: Double?, row: Pixecom_Stats_V1_AdsManagerRow)] = []
        var summaries: [String: (rows: Int32, sums: StatsReport.Sums)] = [:]
        for object in objects {
            let key = LevelKey(id: object.id, currency: object.currency)
            var sums = spend[key] ?? StatsReport.Sums()
            if let earnedSums = revenue[key] { try sums.add(earnedSums) }
            if let funnelSums = funnel[key] { try sums.add(funnelSums) }
            let metrics = try sums.dailyStats(date: "")
            guard query.filters.allSatisfy({ $0.admits(metrics) }) else { continue }
            var summary = summaries[object.currency] ?? (0, StatsReport.Sums())
            summary.rows += 1
            try summary.sums.add(sums)
            summaries[object.currency] = summary
            let row = Pixecom_Stats_V1_AdsManagerRow.with {
                $0.id = object.id
                $0.name = object.name
                $0.status = object.status
                $0.effectiveStatus = object.effectiveStatus
                $0.campaignID = object.campaignID
                $0.adSetID = object.adSetID
                $0.adAccountID = object.adAccountID
                $0.currency = object.currency
                $0.metrics = metrics
            }
            rows.append((query.sort.value(in: metrics), row))
        }
        rows.sort { query.precedes(($0.value, $0.row.id), ($1.value, $1.row.id)) }
        if let after = query.after {
            rows.removeAll { !query.precedes((after.value, after.id), ($0.value, $0.row.id)) }
        }
        var page = Pixecom_Stats_V1_AdsManagerPage()
        page.rows = rows.prefix(query.pageSize).map(\.row)
        if rows.count > query.pageSize, let last = rows.prefix(query.pageSize).last {
            page.nextPageToken = AdsManagerCursor(value: last.value, id: last.row.id).token
        }
        page.summary = try summaries.sorted { $0.key < $1.key }.map { currency, summary in
            let metrics = try summary.sums.dailyStats(date: "")
            return Pixecom_Stats_V1_AdsManagerSummary.with {
                $0.currency = currency
                $0.rows = summary.rows
                $0.metrics = metrics
            }
        }
        return page
    }
}
