import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The plan limits CampaignService owns (`PlanLimits`): ad accounts and campaigns per seller,
/// ads per ad set. Rows count by their table's `countCondition` (connected accounts, campaigns and
/// ads not DELETED).
///
/// Checked twice on a create: from a plain read before the ad platform is called (so a seller at
/// the limit costs the platform nothing), and for certain inside the transaction that stores the
/// object (`requireRoom(sellerID:on:logger:)`), since another create may have landed in between.
struct PlanQuota: Sendable {
    /// The parent whose children a per-parent limit counts, e.g. the ad set of new ads.
    struct Scope: Sendable {
        var column: String
        var id: UUID
        var noun: String
    }

    var table: ObjectTable
    var limit: Int
    var plan: String
    var scope: Scope?

    /// The limit of `plan` on `table`'s rows, per seller or, with `scope`, per parent.
    init(_ table: ObjectTable, plan: String, scope: Scope? = nil, limit: (PlanLimits) -> Int) {
        self.table = table
        self.plan = plan
        self.scope = scope
        self.limit = limit(PlanLimits.of(plan: plan))
    }

    /// The limit on ads per ad set `adSetID`.
    static func ads(inAdSet adSetID: UUID, plan: String) -> PlanQuota {
        PlanQuota(AdRecord.table, plan: plan, scope: Scope(column: "ad_set_id", id: adSetID, noun: "ad set")) { $0.adsPerAdSet }
    }

    /// FAILED_PRECONDITION when `count` rows are at or over the limit (or `adding` more would be).
    func requireRoom(count: Int, adding: Int = 1) throws {
        guard count + adding <= self.limit else {
            let plural = self.limit == 1 ? self.table.noun : self.table.noun + "s"
            let holder = self.scope.map { "\($0.noun) \($0.id.wireText) has" } ?? "this seller has"
            let per = self.scope.map { " per \($0.noun)" } ?? ""
            throw RPCError(
                .failedPrecondition,
                "the \(self.plan.lowercased()) plan allows \(self.limit) \(plural)\(per); \(holder) \(count)\(adding > 1 ? " and would get \(adding) more" : ""). Upgrade the plan to add more"
            )
        }
    }

    /// The seller's rows this quota counts.
    func countQuery(sellerID: UUID) -> PostgresQuery {
        ObjectQueries.count(in: self.table, sellerID: sellerID, scope: self.scope.map { ($0.column, $0.id) })
    }

    /// `requireRoom(count:)` inside the transaction that adds the rows. Takes a transaction-scoped
    /// advisory lock per seller, table and scope first, so two creations at once cannot both pass
    /// the count.
    func requireRoom(sellerID: UUID, adding: Int = 1, on connection: PostgresConnection, logger: Logger) async throws {
        let lockKey = "plan-quota:\(self.table.name):\(sellerID.wireText):\(self.scope?.id.wireText ?? "")"
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: logger)
        let rows = try await connection.query(self.countQuery(sellerID: sellerID), logger: logger)
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        try self.requireRoom(count: count, adding: adding)
    }
}
