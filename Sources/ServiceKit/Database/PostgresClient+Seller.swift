import Foundation
import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `body` in a transaction that acts for one seller: `app.seller_id` is set for the
    /// transaction only, and every tenant table's row-level security policy admits that seller's
    /// rows and no other's, whatever the queries inside forget to filter.
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
}

extension PostgresConnection {
    /// Scopes the current transaction to `sellerID` (see `PostgresClient.withSeller`).
    public func setSeller(_ sellerID: UUID, logger: Logger) async throws {
        try await self.query("SELECT set_config('app.seller_id', \(sellerID.uuidString.lowercased()), true)", logger: logger)
    }
}
