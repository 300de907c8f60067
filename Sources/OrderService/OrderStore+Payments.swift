import Foundation
import Logging
import PostgresNIO
import RPCKit

/// Payment transactions and status changes. Each one locks the order row, reads the history,
/// asks `OrderHistory.admit` whether the transaction may be recorded, appends it, rewrites the
/// projection from the whole history and enqueues the stats event of any money it moved, all in
/// one transaction: the event exists if and only if the change committed.
extension OrderStore {
    /// Records `request` in its own seller-scoped transaction; a refusal is an RPC error.
    func record(_ request: OrderHistory.Request, orderID: UUID, sellerID: UUID, logger: Logger) async throws -> OrderRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.record(request, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// `record` inside the caller's seller-scoped transaction.
    static func record(
        _ request: OrderHistory.Request, orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> OrderRecord {
        _ = try await Self.recordEntry(request, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
        return try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger)
    }

    /// Records `request` from a call of this service and returns its entry; a refusal is an RPC
    /// error (INVALID_ARGUMENT naming the field at fault, or FAILED_PRECONDITION).
    static func recordEntry(
        _ request: OrderHistory.Request, orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> OrderHistory.Entry {
        switch try await Self.attempt(request, orderID: orderID, sellerID: sellerID, source: "api", on: connection, logger: logger) {
        case .recorded(let entry):
            return entry
        case .refused(let refusal, _):
            if let field = refusal.field { throw RPCError.invalidArgument(field: field, refusal.message) }
            throw RPCError(.failedPrecondition, refusal.message)
        }
    }

    enum Attempt: Sendable {
        case recorded(OrderHistory.Entry)
        /// With the history it was checked against.
        case refused(OrderHistory.Refusal, OrderHistory)
    }

    /// Locks the order and records `request` if its history admits it; a refusal changes nothing
    /// and is returned, for the webhook path to decide whether to wait. NOT_FOUND when the seller
    /// has no such order.
    static func attempt(
        _ request: OrderHistory.Request, orderID: UUID, sellerID: UUID, source: String, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Attempt {
        let locked = try await Self.lock(orderID, sellerID: sellerID, on: connection, logger: logger)
        var history = try await Self.history(of: locked, sellerID: sellerID, on: connection, logger: logger)
        // Stripe reports a charge's refunds as its cumulative refunded amount, which knows nothing
        // of refunds recorded here: a payment Stripe's webhooks captured takes its refunds from
        // them alone, or a refund recorded by hand and then reported would count twice.
        if case .refund = request, source == "api",
            let capture = history.entries.first(where: { $0.kind == .captured && $0.source == "stripe" })
        {
            return .refused(
                OrderHistory.Refusal(
                    message: "the payment was captured through Stripe (\(capture.reference)): refund it in Stripe, whose charge.refunded "
                        + "event records the refund here"),
                history)
        }
        let entry: OrderHistory.Entry
        do {
            entry = try history.admit(request)
        } catch {
            return .refused(error, history)
        }
        try await Self.append(entry, orderID: orderID, sellerID: sellerID, source: source, on: connection, logger: logger)
        history.entries.append(entry)
        let state = history.state
        try await Self.project(state, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
        if let kind = StatsEventPublisher.Kind(entry.kind), let paidAt = state.paidAt {
            try await StatsEventPublisher.enqueue(
                kind, amount: entry.amount, order: locked, saleAt: paidAt, sellerID: sellerID, on: connection, logger: logger)
        }
        logger.info(
            "order.transaction.recorded",
            metadata: [
                "seller.id": "\(sellerID)", "order.id": "\(orderID)", "order.event": "\(entry.kind.rawValue)",
                "order.amount": "\(entry.amount)", "order.source": "\(source)",
                "order.financial_status": "\(state.financialStatus.rawValue)",
            ]
        )
        return .recorded(entry)
    }

    /// Rewrites the order's projection from its history alone: what every change does, and what
    /// an operator runs after repairing a row by hand.
    func rebuild(_ orderID: UUID, sellerID: UUID, logger: Logger) async throws -> OrderRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let locked = try await Self.lock(orderID, sellerID: sellerID, on: connection, logger: logger)
            let history = try await Self.history(of: locked, sellerID: sellerID, on: connection, logger: logger)
            try await Self.project(history.state, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
            return try await Self.load(orderID, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// The order's entries, oldest first.
    static func history(of order: LockedOrder, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> OrderHistory
    {
        let rows = try await connection.query(
            """
            SELECT type, amount, reference, reason, created_at, line_quantities, source FROM order_events
            WHERE seller_id = \(sellerID) AND order_id = \(order.id)
            ORDER BY created_at, id
            """,
            logger: logger
        )
        var entries: [OrderHistory.Entry] = []
        for try await (type, amount, reference, reason, at, quantities, source) in rows.decode(
            (String, Int64, String, String, Date, [Int32], String).self)
        {
            guard let kind = OrderHistory.Kind(rawValue: type) else { throw RPCError(.internal, "order history has an unknown entry type") }
            entries.append(
                OrderHistory.Entry(
                    kind: kind, amount: amount, reference: reference, reason: reason, at: at, quantities: quantities, source: source))
        }
        return OrderHistory(total: order.total, ordered: order.ordered, entries: entries)
    }

    static func append(
        _ entry: OrderHistory.Entry, orderID: UUID, sellerID: UUID, source: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO order_events (seller_id, id, order_id, type, amount, reference, source, reason, created_at, line_quantities)
            VALUES (\(sellerID), \(UUID()), \(orderID), \(entry.kind.rawValue), \(entry.amount), \(entry.reference), \(source),
                    \(entry.reason), \(entry.at), \(entry.quantities))
            """,
            logger: logger
        )
    }

    /// Writes `state` into the order row's projection columns.
    static func project(_ state: OrderHistory.State, orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            """
            UPDATE orders SET order_status = \(state.orderStatus.rawValue), cancel_reason = \(state.cancelReason),
                financial_status = \(state.financialStatus.rawValue), authorized = \(state.authorized),
                captured = \(state.captured), refunded = \(state.refunded), charged_back = \(state.chargedBack),
                paid_at = \(state.paidAt), fulfillment_status = \(state.fulfillmentStatus.rawValue), updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(orderID)
            """,
            logger: logger
        )
        guard !state.fulfilled.isEmpty else { return }
        try await connection.query(
            """
            UPDATE order_line_items AS item SET fulfilled_quantity = units.fulfilled, returned_quantity = units.returned
            FROM unnest(\(state.fulfilled)::int4[], \(state.returned)::int4[]) WITH ORDINALITY AS units (fulfilled, returned, line)
            WHERE item.seller_id = \(sellerID) AND item.order_id = \(orderID) AND item.position = units.line - 1
              AND (item.fulfilled_quantity, item.returned_quantity) IS DISTINCT FROM (units.fulfilled, units.returned)
            """,
            logger: logger
        )
    }

    /// What the transactions need of an order, read under a row lock held until the transaction
    /// ends: the lock serialises every change of one order, so checks and writes see one history.
    static func lock(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> LockedOrder {
        let rows = try await connection.query(
            """
            SELECT total, currency, utm_campaign, utm_content, sell_page_id,
                   ARRAY(SELECT quantity FROM order_line_items
                         WHERE seller_id = \(sellerID) AND order_id = \(id) ORDER BY position)
            FROM orders WHERE seller_id = \(sellerID) AND id = \(id)
            FOR UPDATE OF orders
            """,
            logger: logger
        )
        for try await (total, currency, campaign, content, page, ordered) in rows.decode(
            (Int64, String, String, String, UUID?, [Int32]).self)
        {
            return LockedOrder(
                id: id, total: total, currency: currency, utmCampaign: campaign, utmContent: content, sellPageID: page, ordered: ordered)
        }
        throw RPCError.notFound("order")
    }
}

/// What the transactions need of an order they hold locked.
struct LockedOrder: Sendable {
    var id: UUID
    var total: Int64
    var currency: String
    var utmCampaign: String
    var utmContent: String
    /// The sell page of a storefront checkout.
    var sellPageID: UUID?
    /// The units ordered of each line item, by position.
    var ordered: [Int32] = []
}
