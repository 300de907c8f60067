import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The plan limits CampaignService owns: ad accounts and campaigns per seller (`PlanLimits`).
///
/// Checked twice on a create: from a plain read before the ad platform is called (so a seller at
/// the limit costs the platform nothing), and for certain inside the transaction that stores the
/// object (`requireRoom(on:)`), since another create may have landed in between.
struct PlanQuota: Sendable {
    var table: ObjectTable
    var limit: Int
    var plan: String

    /// The limit of `plan` on `table`'s rows.
    init(_ table: ObjectTable, plan: String, limit: (PlanLimits) -> Int) {
        self.table = table
        self.plan = plan
        self.limit = limit(PlanLimits.of(plan: plan))
    }

    /// FAILED_PRECONDITION when a seller with `count` rows is at or over the limit.
    func requireRoom(count: Int) throws {
        guard count < self.limit else {
            let plural = self.limit == 1 ? self.table.noun : self.table.noun + "s"
            throw RPCError(
                .failedPrecondition,
                "the \(self.plan.lowercased()) plan allows \(self.limit) \(plural); this seller has \(count). Upgrade the plan to add more"
            )
        }
    }

    /// `requireRoom(count:)` inside the transaction that adds the row. Takes a transaction-scoped
    /// advisory lock per seller and table first, so two creations at once cannot both pass the
    /// count.
    func requireRoom(sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let lockKey = "plan-quota:\(self.table.name):\(sellerID.wireText)"
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: logger)
        let rows = try await connection.query(ObjectQueries.count(in: self.table, sellerID: sellerID), logger: logger)
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        try self.requireRoom(count: count)
    }
}
