import Foundation
import Logging
import PostgresNIO

/// The two ways every service reaches its tenant tables. Stores call them; handlers never see a
/// `PostgresClient`.
///
/// Both scope the work to one seller through the transaction-local setting `app.seller_id`, which
/// every tenant table's row-level security policy compares with the row's `seller_id` (the
/// services connect as a role that owns nothing and lacks BYPASSRLS). Nothing ever sets it for a
/// whole session, so a pooled connection carries no seller from one use to the next: outside these
/// helpers the policies admit no row.
extension PostgresClient {
    /// Runs `body` in a transaction that acts for one seller: `app.seller_id` is set for the
    /// transaction only, and every tenant table's row-level security policy admits that seller's
    /// rows and no other's, whatever the queries inside forget to filter.
    ///
    /// For writes and for reads that need several statements. Costs BEGIN, the setting and COMMIT
    /// beside the body's statements. The connection is held until the body returns: the body must
    /// not wait for anything remote (another service, the ad platform) — do that before or after.
    @discardableResult
    public func withSeller<Result: Sendable>(
        _ sellerID: UUID,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await self.withTransaction(logger: logger) { connection in
            try await connection.setSeller(sellerID, logger: logger)
            return try await body(connection)
        }
    }

    /// Runs one read-only `SELECT` as `sellerID` in one round trip, and collects its rows.
    ///
    /// The statement sent is
    ///
    ///     SELECT scoped.* FROM app_enter_seller($n) AS scope (seller_id)
    ///     CROSS JOIN LATERAL (SELECT * FROM (<query>) AS unscoped
    ///                         WHERE scope.seller_id IS NOT NULL OFFSET 0) AS scoped
    ///
    /// with the seller bound as the last parameter. `app_enter_seller` (each service's migrations
    /// define it) sets `app.seller_id` for the statement's own implicit transaction, which ends
    /// when the statement does, so nothing outlives the call.
    ///
    /// Why this is safe under row-level security, whatever plan Postgres picks: before
    /// `app_enter_seller` runs, `app.seller_id` is unset (see the type's note), so the policies
    /// admit nothing; after, they admit `sellerID`'s rows only. No plan can return another
    /// seller's row — at worst a plan that scanned too early would return too few, never too many.
    ///
    /// Why it is also complete: the query sits in a LATERAL subquery that refers to the
    /// function's result and cannot be pulled up (OFFSET 0), so Postgres plans it on its own and
    /// can only run it as the parameterized inner side of a nested loop — after the outer side,
    /// the function, has produced its row. The rows keep the query's order (one outer row, nothing
    /// sorts above). `ScopedReadTests` checks both against a real database.
    ///
    /// `query` must be a single `SELECT` without locking clauses; it should still filter by
    /// `seller_id` itself (so indexes lead with it). Decode with `transform`, which sees every row.
    public func readAsSeller<Row: Sendable>(
        _ sellerID: UUID,
        _ query: PostgresQuery,
        logger: Logger,
        transform: (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        var scoped = query
        scoped.binds.append(sellerID)
        scoped.sql = """
            SELECT scoped.* FROM app_enter_seller($\(scoped.binds.count)) AS scope (seller_id) \
            CROSS JOIN LATERAL (SELECT * FROM (\(query.sql)) AS unscoped WHERE scope.seller_id IS NOT NULL OFFSET 0) AS scoped
            """
        let rows = try await self.query(scoped, logger: logger)
        var result: [Row] = []
        for try await row in rows {
            result.append(try transform(row))
        }
        return result
    }
}

extension PostgresConnection {
    /// Scopes the current transaction to `sellerID` (see `PostgresClient.withSeller`).
    public func setSeller(_ sellerID: UUID, logger: Logger) async throws {
        try await self.query("SELECT set_config('app.seller_id', \(sellerID.uuidString.lowercased()), true)", logger: logger)
    }
}
