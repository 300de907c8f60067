import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The plan limits CampaignService owns: ad accounts and campaigns per seller
/// (`PlanLimits`), checked inside the creating transaction.
enum PlanQuota {
    /// FAILED_PRECONDITION when the seller already has `limit` rows in `table`. Takes a
    /// transaction-scoped advisory lock per seller and table first, so two creations at once
    /// cannot both pass the count.
    static func requireRoom(
        in table: ObjectTable,
        limit: Int,
        plan: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let lockKey = "plan-quota:\(table.name):\(sellerID.wireText)"
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: logger)
        let rows = try await connection.query(
            "SELECT count(*) FROM \(unescaped: table.name) WHERE seller_id = \(sellerID)",
            logger: logger
        )
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        guard count < limit else {
            let plural = limit == 1 ? table.noun : table.noun + "s"
            throw RPCError(
                .failedPrecondition,
                "the \(plan.lowercased()) plan allows \(limit) \(plural); this seller has \(count). Upgrade the plan to add more"
            )
        }
    }
}
