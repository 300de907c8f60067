import Foundation
import Logging
import PostgresNIO
import RPCKit

/// Orders, their line items and history in Postgres. Every query is scoped to one seller.
struct OrderStore: Sendable {
    let db: PostgresClient

    /// The `orders` columns `decodeOrders` reads, in order. A constant: never user input.
    static let orderColumns = """
        id, currency, total, refunded, financial_status, fulfillment_status,
        utm_source, utm_medium, utm_campaign, utm_content, utm_term, created_at, paid_at
        """

    /// Creates an order, or replays the order created earlier under the same idempotency key.
    ///
    /// The key row is inserted first: a concurrent request with the same key blocks on the
    /// primary key until this transaction ends, then sees the key and replays, so one key never
    /// makes two orders. The same key with a different request is FAILED_PRECONDITION.
    func create(_ order: NewOrder, sellerID: UUID, idempotencyKey: String?, logger: Logger) async throws -> (
        order: OrderRecord, replayed: Bool
    ) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let orderID = UUID()
            if let key = idempotencyKey {
                let fingerprint = order.fingerprint
                let claimed = try await connection.query(
                    """
                    INSERT INTO idempotency_keys (seller_id, key, request_hash, order_id)
                    VALUES (\(sellerID), \(key), encode(sha256(\(fingerprint)::bytea), 'hex'), \(orderID))
                    ON CONFLICT (seller_id, key) DO NOTHING
                    RETURNING order_id
                    """,
                    logger: logger
                )
                var isNew = false
                for try await _ in claimed.decode(UUID.self) { isNew = true }
                if !isNew {
                    let existing = try await Self.replay(
                        key: key, fingerprint: fingerprint, sellerID: sellerID, on: connection, logger: logger)
                    return (existing, true)
                }
            }
            try await connection.query(
                """
                INSERT INTO orders (seller_id, id, currency, total, financial_status, fulfillment_status,
                                    utm_source, utm_medium, utm_campaign, utm_content, utm_term)
                VALUES (\(sellerID), \(orderID), \(order.currency), \(order.total),
                        \(FinancialStatus.pending.rawValue), 'UNFULFILLED',
                        \(order.utm.source), \(order.utm.medium), \(order.utm.campaign), \(order.utm.content), \(order.utm.term))
                """,
                logger: logger
            )
            let positions = order.lineItems.indices.map { Int32($0) }
            try await connection.query(
                """
                INSERT INTO order_line_items (seller_id, order_id, position, sku, title, quantity, unit_price)
                SELECT \(sellerID), \(orderID), i.position, i.sku, i.title, i.quantity, i.unit_price
                FROM unnest(\(positions)::integer[], \(order.lineItems.map(\.sku))::text[], \(order.lineItems.map(\.title))::text[],
                            \(order.lineItems.map(\.quantity))::integer[], \(order.lineItems.map(\.unitPrice))::bigint[])
                    AS i(position, sku, title, quantity, unit_price)
                """,
                logger: logger
            )
            try await Self.appendEvent(.created, amount: order.total, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
            let created = try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger)
            return (created, false)
        }
    }

    /// The order, or NOT_FOUND (also for another seller's order).
    func get(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> OrderRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// One page of the seller's orders in (created_at, id) order, and whether more follow.
    func list(sellerID: UUID, after cursor: (createdAt: Date, id: UUID)?, limit: Int, logger: Logger) async throws -> (
        orders: [OrderRecord], hasMore: Bool
    ) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows: PostgresRowSequence
            if let cursor {
                // The cursor time travels as integer microseconds: binding a Date would truncate
                // it and could repeat the last row of the previous page.
                let micros = Int64((cursor.createdAt.timeIntervalSince1970 * 1_000_000).rounded())
                rows = try await connection.query(
                    """
                    SELECT \(unescaped: Self.orderColumns) FROM orders
                    WHERE seller_id = \(sellerID)
                      AND (created_at, id) > (timestamptz 'epoch' + \(micros) * interval '1 microsecond', \(cursor.id))
                    ORDER BY created_at, id
                    LIMIT \(limit + 1)
                    """,
                    logger: logger
                )
            } else {
                rows = try await connection.query(
                    """
                    SELECT \(unescaped: Self.orderColumns) FROM orders
                    WHERE seller_id = \(sellerID)
                    ORDER BY created_at, id
                    LIMIT \(limit + 1)
                    """,
                    logger: logger
                )
            }
            var orders = try await Self.decodeOrders(rows)
            let hasMore = orders.count > limit
            if hasMore { orders.removeLast(orders.count - limit) }
            try await Self.attachDetails(to: &orders, sellerID: sellerID, on: connection, logger: logger)
            return (orders, hasMore)
        }
    }

    // MARK: - Shared by the methods above and the payment transitions

    /// The full order, read on `connection` (inside the caller's transaction, if any).
    static func load(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> OrderRecord {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.orderColumns) FROM orders WHERE seller_id = \(sellerID) AND id = \(id)",
            logger: logger
        )
        var orders = try await Self.decodeOrders(rows)
        guard !orders.isEmpty else { throw RPCError.notFound("order") }
        try await Self.attachDetails(to: &orders, sellerID: sellerID, on: connection, logger: logger)
        return orders[0]
    }

    static func appendEvent(
        _ kind: OrderEventRecord.Kind,
        amount: Int64,
        orderID: UUID,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO order_events (seller_id, id, order_id, type, amount)
            VALUES (\(sellerID), \(UUID()), \(orderID), \(kind.rawValue), \(amount))
            """,
            logger: logger
        )
    }

    /// The order an earlier request created with `key`, if this request is the same one.
    private static func replay(key: String, fingerprint: Data, sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws -> OrderRecord
    {
        let rows = try await connection.query(
            """
            SELECT order_id, request_hash = encode(sha256(\(fingerprint)::bytea), 'hex')
            FROM idempotency_keys WHERE seller_id = \(sellerID) AND key = \(key)
            """,
            logger: logger
        )
        var found: (UUID, Bool)?
        for try await row in rows.decode((UUID, Bool).self) { found = row }
        guard let (orderID, sameRequest) = found else {
            throw RPCError(.aborted, "idempotency key changed concurrently; retry")
        }
        guard sameRequest else {
            throw RPCError(.failedPrecondition, "idempotency key reused with different parameters")
        }
        return try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger)
    }

    private static func decodeOrders(_ rows: PostgresRowSequence) async throws -> [OrderRecord] {
        var orders: [OrderRecord] = []
        let columns = (UUID, String, Int64, Int64, String, String, String, String, String, String, String, Date, Date?).self
        for try await (id, currency, total, refunded, financial, fulfillment, source, medium, campaign, content, term, createdAt, paidAt)
            in rows.decode(columns)
        {
            guard let status = FinancialStatus(rawValue: financial) else {
                throw RPCError(.internal, "order has an unknown financial status")
            }
            orders.append(
                OrderRecord(
                    id: id,
                    currency: currency,
                    total: total,
                    refunded: refunded,
                    financialStatus: status,
                    fulfillmentStatus: fulfillment,
                    utm: UtmTags(source: source, medium: medium, campaign: campaign, content: content, term: term),
                    createdAt: createdAt,
                    paidAt: paidAt
                )
            )
        }
        return orders
    }

    /// Fills in line items and history of every order with two queries, whatever the page size.
    private static func attachDetails(to orders: inout [OrderRecord], sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !orders.isEmpty else { return }
        let ids = orders.map(\.id)
        var items: [UUID: [LineItemRecord]] = [:]
        let itemRows = try await connection.query(
            """
            SELECT order_id, sku, title, quantity, unit_price FROM order_line_items
            WHERE seller_id = \(sellerID) AND order_id = ANY(\(ids)::uuid[])
            ORDER BY order_id, position
            """,
            logger: logger
        )
        for try await (orderID, sku, title, quantity, unitPrice) in itemRows.decode((UUID, String, String, Int32, Int64).self) {
            items[orderID, default: []].append(LineItemRecord(sku: sku, title: title, quantity: quantity, unitPrice: unitPrice))
        }
        var events: [UUID: [OrderEventRecord]] = [:]
        let eventRows = try await connection.query(
            """
            SELECT order_id, id, type, amount, created_at FROM order_events
            WHERE seller_id = \(sellerID) AND order_id = ANY(\(ids)::uuid[])
            ORDER BY order_id, created_at, id
            """,
            logger: logger
        )
        for try await (orderID, id, type, amount, createdAt) in eventRows.decode((UUID, UUID, String, Int64, Date).self) {
            events[orderID, default: []].append(OrderEventRecord(id: id, type: type, amount: amount, createdAt: createdAt))
        }
        for index in orders.indices {
            orders[index].lineItems = items[orders[index].id] ?? []
            orders[index].events = events[orders[index].id] ?? []
        }
    }
}
