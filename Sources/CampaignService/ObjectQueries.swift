import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The queries every object table shares: get by id, keyset-paginated list, count, settings and
/// status changes. Every one names its seller; `ObjectStore` runs them.
enum ObjectQueries {
    /// Row locks a read may take for the rest of its transaction.
    enum Lock: String {
        case unlocked = ""
        /// Parents while a child is created: a concurrent delete waits for the child to exist.
        case share = "FOR SHARE"
        /// An object whose status is about to change. NO KEY: inserting a child checks its foreign
        /// key with FOR KEY SHARE on this row, and must not wait for (and deadlock with) a delete
        /// that in turn waits for the child's parent.
        case update = "FOR NO KEY UPDATE"
    }

    /// Selects the seller's object `id` (no row: none, or another seller's).
    static func select<Object: StoredObject>(_: Object.Type, sellerID: UUID, id: UUID, lock: Lock = .unlocked) -> PostgresQuery {
        let table = Object.table
        return """
            SELECT \(unescaped: table.columns) FROM \(unescaped: table.name)
            WHERE seller_id = \(sellerID) AND id = \(id)
            \(unescaped: lock.rawValue)
            """
    }

    /// The seller's object, or nil (also for another seller's object), inside the caller's
    /// transaction.
    static func get<Object: StoredObject>(
        _ type: Object.Type,
        sellerID: UUID,
        id: UUID,
        lock: Lock = .unlocked,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Object? {
        let rows = try await connection.query(Self.select(type, sellerID: sellerID, id: id, lock: lock), logger: logger)
        return try await rows.first(Object.self)
    }

    /// Runs an INSERT ending in `RETURNING <Object.table.columns>` and decodes the new row.
    static func insert<Object: StoredObject>(
        _ query: PostgresQuery,
        returning _: Object.Type,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Object {
        let rows = try await connection.query(query, logger: logger)
        guard let object = try await rows.first(Object.self) else {
            throw UnreadableRowError(table: Object.table.name, column: "*", value: "INSERT returned no row")
        }
        return object
    }

    /// Like `get`, but NOT_FOUND naming the object when there is none.
    static func require<Object: StoredObject>(
        _ type: Object.Type,
        sellerID: UUID,
        id: UUID,
        lock: Lock = .unlocked,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Object {
        guard let object = try await self.get(type, sellerID: sellerID, id: id, lock: lock, on: connection, logger: logger) else {
            throw Object.table.notFound(id)
        }
        return object
    }

    /// Selects one page of the seller's objects in (created_at, id) order, DELETED ones left out,
    /// optionally only the children of `parentID` (one row more than the page: see `ListPage`).
    static func list<Object: StoredObject>(_: Object.Type, sellerID: UUID, parentID: UUID?, page: PageRequest) -> PostgresQuery {
        let table = Object.table
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 512, interpolationCount: 6)
        sql.appendLiteral("SELECT \(table.columns) FROM \(table.name) WHERE seller_id = ")
        sql.appendInterpolation(sellerID)
        if table.hasStatus {
            sql.appendLiteral(" AND status <> 'DELETED'")
        }
        if let parentID, let column = table.parentColumn {
            sql.appendLiteral(" AND \(column) = ")
            sql.appendInterpolation(parentID)
        }
        if let after = page.after {
            // The cursor time goes in as exact microseconds: a Date bind is truncated and could
            // land one microsecond early, repeating a row.
            sql.appendLiteral(" AND (created_at, id) > (timestamptz 'epoch' + interval '1 microsecond' * ")
            sql.appendInterpolation(after.micros)
            sql.appendLiteral(", ")
            sql.appendInterpolation(after.id)
            sql.appendLiteral(")")
        }
        sql.appendLiteral(" ORDER BY created_at, id LIMIT ")
        sql.appendInterpolation(page.size + 1)
        return PostgresQuery(stringInterpolation: sql)
    }

    /// Counts the seller's rows in `table` (DELETED ones too: they count against plan limits).
    static func count(in table: ObjectTable, sellerID: UUID) -> PostgresQuery {
        "SELECT count(*) FROM \(unescaped: table.name) WHERE seller_id = \(sellerID)"
    }

    /// Sets the name and/or daily budget (nil: unchanged) of one of the seller's objects.
    static func setSettings<Object: StatusBearingObject>(
        _: Object.Type,
        name: String?,
        dailyBudget: Int64?,
        sellerID: UUID,
        id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let table = Object.table
        if let name {
            try await connection.query(
                "UPDATE \(unescaped: table.name) SET name = \(name), updated_at = now() WHERE seller_id = \(sellerID) AND id = \(id)",
                logger: logger
            )
        }
        if let dailyBudget {
            try await connection.query(
                "UPDATE \(unescaped: table.name) SET daily_budget = \(dailyBudget), updated_at = now() WHERE seller_id = \(sellerID) AND id = \(id)",
                logger: logger
            )
        }
    }

    /// Sets the status of a locked object and returns it updated. DELETED also soft-deletes the
    /// table's dependents (an ad set's ads; a campaign's ad sets and ads) that are not yet deleted.
    static func setStatus<Object: StatusBearingObject>(
        _: Object.Type,
        _ status: AdObjectStatus,
        sellerID: UUID,
        id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Object {
        let table = Object.table
        let rows = try await connection.query(
            """
            UPDATE \(unescaped: table.name) SET status = \(status.rawValue), updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            RETURNING \(unescaped: table.columns)
            """,
            logger: logger
        )
        guard let updated = try await rows.first(Object.self) else { throw table.notFound(id) }
        if status == .deleted {
            for dependent in table.dependents {
                try await connection.query(
                    """
                    UPDATE \(unescaped: dependent.table) SET status = 'DELETED', updated_at = now()
                    WHERE seller_id = \(sellerID) AND \(unescaped: dependent.column) = \(id) AND status <> 'DELETED'
                    """,
                    logger: logger
                )
            }
        }
        return updated
    }
}
