import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The service's ad objects in Postgres, for one seller at a time. The handlers' only way to the
/// database: reads are one scoped round trip each (`PostgresClient.readAsSeller`); every write is
/// one short transaction (`PostgresClient.withSeller`) that the store opens and closes itself.
///
/// No method waits for the ad platform, and none leaves a transaction or a row lock behind: the
/// handlers call the platform between a read and a write (see `CampaignHandlers`).
struct ObjectStore: Sendable {
    let db: PostgresClient

    /// The seller's object, DELETED ones included; NOT_FOUND naming the id otherwise (also for
    /// another seller's object).
    func get<Object: StoredObject>(_ type: Object.Type, id: UUID, sellerID: UUID, logger: Logger) async throws -> Object {
        let query = ObjectQueries.select(type, sellerID: sellerID, id: id)
        guard let object = try await self.db.readAsSeller(sellerID, query, logger: logger, transform: Object.init(row:)).first else {
            throw Object.table.notFound(id)
        }
        return object
    }

    /// One page of the seller's objects that pass `filter`.
    func list<Object: StoredObject>(
        _ type: Object.Type,
        filter: ListFilter,
        page: PageRequest,
        sellerID: UUID,
        logger: Logger
    ) async throws -> ListPage<Object> {
        let query = ObjectQueries.list(type, sellerID: sellerID, filter: filter, page: page)
        let fetched = try await self.db.readAsSeller(sellerID, query, logger: logger, transform: Object.init(row:))
        return ListPage(fetched: fetched, pageSize: page.size)
    }

    /// FAILED_PRECONDITION when the seller is at `quota`'s limit now (a read; the transaction
    /// that adds the row checks again).
    func requireRoom(_ quota: PlanQuota, sellerID: UUID, logger: Logger) async throws {
        let counts = try await self.db.readAsSeller(sellerID, quota.countQuery(sellerID: sellerID), logger: logger) {
            try $0.decode(Int.self)
        }
        try quota.requireRoom(count: counts.first ?? 0)
    }
}
