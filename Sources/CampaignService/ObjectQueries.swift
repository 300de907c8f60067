import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The queries every object table shares: get by id, keyset-paginated list, count, settings and
/// status changes. Every one names its seller; `ObjectStore` runs them.
enum ObjectQueries {
    /// Row locks a read may take for the rest of its transaction, on the object's own row (`o`),
    /// never on the parents joined for its effective status.
    enum Lock: String {
        case unlocked = ""
        /// Parents while a child is created: a concurrent delete waits for the child to exist.
        case share = "FOR SHARE OF o"
        /// An object whose status is about to change. NO KEY: inserting a child checks its foreign
        /// key with FOR KEY SHARE on this row, and must not wait for (and deadlock with) a delete
        /// that in turn waits for the child's parent.
        case update = "FOR NO KEY UPDATE OF o"
    }

    /// Selects the seller's object `id` (no row: none, or another seller's).
    static func select<Object: StoredObject>(_: Object.Type, sellerID: UUID, id: UUID, lock: Lock = .unlocked) -> PostgresQuery {
        let table = Object.table
        return """
            SELECT \(unescaped: table.columns) FROM \(unescaped: table.source)
            WHERE o.seller_id = \(sellerID) AND o.id = \(id)
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

    /// Runs an INSERT of the row `id` and reads the new object back.
    static func insert<Object: StoredObject>(
        _ query: PostgresQuery,
        id: UUID,
        returning type: Object.Type,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Object {
        try await connection.query(query, logger: logger)
        guard let object = try await self.get(type, sellerID: sellerID, id: id, on: connection, logger: logger) else {
            throw UnreadableRowError(table: Object.table.name, column: "*", value: "the row just inserted is not there")
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

    /// Selects one page of the seller's objects in (created_at, id) order that pass `filter`
    /// (one row more than the page: see `ListPage`).
    static func list<Object: StoredObject>(_: Object.Type, sellerID: UUID, filter: ListFilter, page: PageRequest) -> PostgresQuery {
        let table = Object.table
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 1024, interpolationCount: 12)
        sql.appendLiteral("SELECT \(table.columns) FROM \(table.source) WHERE o.seller_id = ")
        sql.appendInterpolation(sellerID)
        if table.hasStatus {
            if let status = filter.status {
                sql.appendLiteral(" AND o.status = ")
                sql.appendInterpolation(status.rawValue)
            } else if filter.effectiveStatus != "DELETED" {
                sql.appendLiteral(" AND o.status <> 'DELETED'")
            }
        }
        if let effective = filter.effectiveStatus, let expression = table.effectiveStatus {
            sql.appendLiteral(" AND (\(expression)) = ")
            sql.appendInterpolation(effective)
        }
        if let parentID = filter.parentID, let column = table.parentColumn {
            sql.appendLiteral(" AND o.\(column) = ")
            sql.appendInterpolation(parentID)
        }
        if let objective = filter.objective {
            sql.appendLiteral(" AND o.objective = ")
            sql.appendInterpolation(objective)
        }
        if let assetType = filter.assetType {
            sql.appendLiteral(" AND o.type = ")
            sql.appendInterpolation(assetType)
        }
        if let part = filter.nameContains {
            // A substring, not a pattern: the LIKE wildcards and the escape character are escaped.
            let escaped = part.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            sql.appendLiteral(" AND o.name ILIKE '%' || ")
            sql.appendInterpolation(escaped)
            sql.appendLiteral(" || '%'")
        }
        for (column, bound, operation) in [
            ("created_at", filter.createdAfter, ">="), ("created_at", filter.createdBefore, "<"),
            ("updated_at", filter.updatedAfter, ">="), ("updated_at", filter.updatedBefore, "<"),
        ] {
            guard let bound else { continue }
            sql.appendLiteral(" AND o.\(column) \(operation) ")
            sql.appendInterpolation(bound)
        }
        if let after = page.after {
            // The cursor time goes in as exact microseconds: a Date bind is truncated and could
            // land one microsecond early, repeating a row.
            sql.appendLiteral(" AND (o.created_at, o.id) > (timestamptz 'epoch' + interval '1 microsecond' * ")
            sql.appendInterpolation(after.micros)
            sql.appendLiteral(", ")
            sql.appendInterpolation(after.id)
            sql.appendLiteral(")")
        }
        sql.appendLiteral(" ORDER BY o.created_at, o.id LIMIT ")
        sql.appendInterpolation(page.size + 1)
        return PostgresQuery(stringInterpolation: sql)
    }

    /// Counts the seller's rows in `table` that count against a plan limit (`countCondition`).
    /// With `scope`, only the children of one parent: (its column, its id).
    static func count(in table: ObjectTable, sellerID: UUID, scope: (column: String, id: UUID)? = nil) -> PostgresQuery {
        guard let scope else {
            return "SELECT count(*) FROM \(unescaped: table.name) WHERE seller_id = \(sellerID) AND (\(unescaped: table.countCondition))"
        }
        return """
            SELECT count(*) FROM \(unescaped: table.name)
            WHERE seller_id = \(sellerID) AND \(unescaped: scope.column) = \(scope.id) AND (\(unescaped: table.countCondition))
            """
    }

    /// Stores the settings `change` names (nil: unchanged) on one of the seller's objects, in one
    /// statement.
    static func setSettings<Object: StatusBearingObject>(
        _: Object.Type,
        _ change: ObjectChange,
        sellerID: UUID,
        id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let settings = change.settings
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 512, interpolationCount: 12)
        sql.appendLiteral("UPDATE \(Object.table.name) SET updated_at = now()")
        func set<Value: PostgresEncodable & Sendable>(_ column: String, _ value: Value?, cast: String = "") throws {
            guard let value else { return }
            sql.appendLiteral(", \(column) = ")
            try sql.appendInterpolation(value)
            sql.appendLiteral(cast)
        }
        try set("name", settings.name)
        try set("daily_budget", settings.dailyBudget)
        try set("lifetime_budget", settings.lifetimeBudget)
        try set("bid_amount", settings.bidAmount)
        try set("roas_average_floor", settings.roasAverageFloor)
        try set("targeting", try settings.targeting.map(TargetingSpec.json), cast: "::jsonb")
        try set("end_time", settings.endTime)
        if settings.clearsEndTime == true { sql.appendLiteral(", end_time = NULL") }
        try set("link_url", settings.linkURL)
        sql.appendLiteral(" WHERE seller_id = ")
        sql.appendInterpolation(sellerID)
        sql.appendLiteral(" AND id = ")
        sql.appendInterpolation(id)
        try await connection.query(PostgresQuery(stringInterpolation: sql), logger: logger)
    }

    /// Sets the status of a locked object. DELETED also soft-deletes the
    /// table's dependents (an ad set's ads; a campaign's ad sets and ads) that are not yet deleted.
    static func setStatus<Object: StatusBearingObject>(
        _: Object.Type,
        _ status: AdObjectStatus,
        sellerID: UUID,
        id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let table = Object.table
        try await connection.query(
            """
            UPDATE \(unescaped: table.name) SET status = \(status.rawValue), updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            """,
            logger: logger
        )
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
    }
}
