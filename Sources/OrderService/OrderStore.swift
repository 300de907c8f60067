import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit

/// Orders, their line items and history in Postgres. Every query is scoped to one seller.
struct OrderStore: Sendable {
    let db: PostgresClient

    /// The `orders` columns `decodeOrders` reads, in order. A constant: never user input.
    static let orderColumns = """
        id, currency, total, refunded, financial_status, fulfillment_status,
        utm_source, utm_medium, utm_campaign, utm_content, utm_term, created_at, paid_at,
        order_status, cancel_reason, authorized, captured, charged_back
        """

    /// Creates an order (its history starts with `created`), at most once per idempotency key.
    func create(_ order: NewOrder, sellerID: UUID, claim: IdempotencyClaim?, logger: Logger) async throws -> (
        response: Pixecom_Orders_V1_Order, replayed: Bool
    ) {
        try await self.idempotent(claim, sellerID: sellerID, logger: logger) { connection in
            let orderID = UUID()
            try await connection.query(
                """
                INSERT INTO orders (seller_id, id, currency, total, subtotal, financial_status, fulfillment_status,
                                    utm_source, utm_medium, utm_campaign, utm_content, utm_term)
                VALUES (\(sellerID), \(orderID), \(order.currency), \(order.total), \(order.total),
                        \(FinancialStatus.pending.rawValue), 'UNFULFILLED',
                        \(order.utm.source), \(order.utm.medium), \(order.utm.campaign), \(order.utm.content), \(order.utm.term))
                """,
                logger: logger
            )
            try await Self.insertLineItems(order.lineItems, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
            try await Self.append(
                OrderHistory.Entry(kind: .created, amount: order.total), orderID: orderID, sellerID: sellerID, source: "api",
                on: connection, logger: logger)
            return try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger).proto
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

    /// Writes an order's line items, in their order, with one statement.
    static func insertLineItems(
        _ items: [LineItemRecord], orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO order_line_items (seller_id, order_id, position, sku, title, quantity, unit_price)
            SELECT \(sellerID), \(orderID), i.position, i.sku, i.title, i.quantity, i.unit_price
            FROM unnest(\(items.indices.map { Int32($0) })::integer[], \(items.map(\.sku))::text[], \(items.map(\.title))::text[],
                        \(items.map(\.quantity))::integer[], \(items.map(\.unitPrice))::bigint[])
                AS i(position, sku, title, quantity, unit_price)
            """,
            logger: logger
        )
    }

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

    private static func decodeOrders(_ rows: PostgresRowSequence) async throws -> [OrderRecord] {
        var orders: [OrderRecord] = []
        let columns = (
            UUID, String, Int64, Int64, String, String, String, String, String, String, String, Date, Date?, String, String, Int64, Int64,
            Int64
        ).self
        for try await (
            id, currency, total, refunded, financial, fulfillment, source, medium, campaign, content, term, createdAt, paidAt,
            orderStatus, cancelReason, authorized, captured, chargedBack
        ) in rows.decode(columns) {
            guard let status = FinancialStatus(rawValue: financial), let orderStatus = OrderStatus(rawValue: orderStatus),
                let fulfillment = FulfillmentStatus(rawValue: fulfillment)
            else {
                throw RPCError(.internal, "order has an unknown status")
            }
            orders.append(
                OrderRecord(
                    id: id,
                    currency: currency,
                    total: total,
                    refunded: refunded,
                    authorized: authorized,
                    captured: captured,
                    chargedBack: chargedBack,
                    orderStatus: orderStatus,
                    cancelReason: cancelReason,
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
            SELECT order_id, sku, title, quantity, unit_price, fulfilled_quantity, returned_quantity FROM order_line_items
            WHERE seller_id = \(sellerID) AND order_id = ANY(\(ids)::uuid[])
            ORDER BY order_id, position
            """,
            logger: logger
        )
        let itemColumns = (UUID, String, String, Int32, Int64, Int32, Int32).self
        for try await (orderID, sku, title, quantity, unitPrice, fulfilled, returned) in itemRows.decode(itemColumns) {
            items[orderID, default: []].append(
                LineItemRecord(sku: sku, title: title, quantity: quantity, unitPrice: unitPrice, fulfilled: fulfilled, returned: returned))
        }
        var events: [UUID: [OrderEventRecord]] = [:]
        let eventRows = try await connection.query(
            """
            SELECT order_id, id, type, amount, reference, reason, source, created_at, line_quantities FROM order_events
            WHERE seller_id = \(sellerID) AND order_id = ANY(\(ids)::uuid[])
            ORDER BY order_id, created_at, id
            """,
            logger: logger
        )
        let eventColumns = (UUID, UUID, String, Int64, String, String, String, Date, [Int32]).self
        for try await (orderID, id, type, amount, reference, reason, source, at, quantities) in eventRows.decode(eventColumns) {
            guard let kind = OrderHistory.Kind(rawValue: type) else { throw RPCError(.internal, "order history has an unknown entry type") }
            let entry = OrderHistory.Entry(kind: kind, amount: amount, reference: reference, reason: reason, at: at, quantities: quantities)
            events[orderID, default: []].append(OrderEventRecord(id: id, entry: entry, source: source))
        }
        var details: [UUID: OrderRecord.Checkout] = [:]
        let detailRows = try await connection.query(
            """
            SELECT id, sell_page_id, subtotal, discount, shipping, tax, customer_email, customer_phone, customer_name,
                   ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country,
                   fbclid, fbc, fbp, landing_url
            FROM orders WHERE seller_id = \(sellerID) AND id = ANY(\(ids)::uuid[])
            """,
            logger: logger
        )
        for try await row in detailRows.decode(
            (
                UUID, UUID?, Int64, Int64, Int64, Int64, String, String, String, String, String, String, String, String, String, String,
                String, String, String, String
            ).self)
        {
            details[row.0] = OrderRecord.Checkout(
                sellPageID: row.1, subtotal: row.2, discount: row.3, shipping: row.4, tax: row.5,
                contact: CheckoutContact(email: row.6, phone: row.7, name: row.8),
                address: ShippingAddress(
                    name: row.9, line1: row.10, line2: row.11, city: row.12, region: row.13, postalCode: row.14, country: row.15),
                fbclid: row.16, fbc: row.17, fbp: row.18, landingURL: row.19)
        }
        for index in orders.indices {
            orders[index].lineItems = items[orders[index].id] ?? []
            orders[index].events = events[orders[index].id] ?? []
            orders[index].checkout = details[orders[index].id]
        }
    }
}
