import Foundation
import Logging
import PostgresNIO
import RPCKit

/// The money transitions of an order. Each locks the order row, changes it, appends to its
/// history and enqueues the matching stats event, all in one transaction: the event exists if and
/// only if the change committed.
extension OrderStore {
    /// PENDING -> PAID, stamping the paid time. Any other status is FAILED_PRECONDITION.
    func markPaid(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> OrderRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.markPaid(id, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// `markPaid` inside the caller's seller-scoped transaction.
    static func markPaid(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> OrderRecord {
        let locked = try await Self.lock(id, sellerID: sellerID, on: connection, logger: logger)
        guard locked.status == .pending else {
            throw RPCError(
                .failedPrecondition,
                "order is \(locked.status.rawValue); only a PENDING order can be marked paid"
            )
        }
        let rows = try await connection.query(
            """
            UPDATE orders SET financial_status = \(FinancialStatus.paid.rawValue), paid_at = now(), updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            RETURNING (paid_at AT TIME ZONE 'UTC')::date::text, to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            """,
            logger: logger
        )
        var paid: (day: String, at: String)?
        for try await (day, at) in rows.decode((String, String).self) { paid = (day, at) }
        guard let paid else { throw RPCError.notFound("order") }
        try await Self.appendEvent(.paid, amount: locked.total, orderID: id, sellerID: sellerID, on: connection, logger: logger)
        try await StatsEventPublisher.enqueue(
            .paid,
            amount: locked.total,
            order: locked,
            attributedDay: paid.day,
            saleAt: paid.at,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
        return try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
    }

    /// Refunds part or all of what remains of a PAID or PARTIALLY_REFUNDED order.
    ///
    /// The row lock (`FOR UPDATE`) serialises concurrent refunds of one order, so together they
    /// can never exceed the total. The stats event counts against the day the order was paid.
    func refund(_ id: UUID, amount: Int64, sellerID: UUID, logger: Logger) async throws -> OrderRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.refund(id, amount: amount, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// `refund` inside the caller's seller-scoped transaction.
    static func refund(_ id: UUID, amount: Int64, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> OrderRecord
    {
        let locked = try await Self.lock(id, sellerID: sellerID, on: connection, logger: logger)
        guard locked.status == .paid || locked.status == .partiallyRefunded, let paidDay = locked.paidDay,
            let paidAt = locked.paidAt
        else {
            throw RPCError(
                .failedPrecondition,
                "order is \(locked.status.rawValue); only a PAID or PARTIALLY_REFUNDED order can be refunded"
            )
        }
        let remaining = locked.total - locked.refunded  // 0 <= refunded <= total (table check)
        guard amount <= remaining else {
            throw RPCError.invalidArgument(
                field: "amount",
                "exceeds what remains refundable: \(remaining) of total \(locked.total) (already refunded \(locked.refunded))"
            )
        }
        let refunded = locked.refunded + amount  // <= total, cannot overflow
        let status: FinancialStatus = refunded == locked.total ? .refunded : .partiallyRefunded
        try await connection.query(
            """
            UPDATE orders SET refunded = \(refunded), financial_status = \(status.rawValue), updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            """,
            logger: logger
        )
        try await Self.appendEvent(.refunded, amount: amount, orderID: id, sellerID: sellerID, on: connection, logger: logger)
        try await StatsEventPublisher.enqueue(
            .refunded,
            amount: amount,
            order: locked,
            attributedDay: paidDay,
            saleAt: paidAt,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
        return try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
    }

    /// The order's money fields, read under a row lock held until the transaction ends.
    static func lock(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> LockedOrder {
        let rows = try await connection.query(
            """
            SELECT financial_status, total, refunded, currency, utm_campaign, utm_content,
                   (paid_at AT TIME ZONE 'UTC')::date::text, to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM orders WHERE seller_id = \(sellerID) AND id = \(id)
            FOR UPDATE
            """,
            logger: logger
        )
        var locked: LockedOrder?
        for try await (status, total, refunded, currency, campaign, content, paidDay, paidAt) in rows.decode(
            (String, Int64, Int64, String, String, String, String?, String?).self)
        {
            guard let status = FinancialStatus(rawValue: status) else {
                throw RPCError(.internal, "order has an unknown financial status")
            }
            locked = LockedOrder(
                id: id,
                status: status,
                total: total,
                refunded: refunded,
                currency: currency,
                utmCampaign: campaign,
                utmContent: content,
                paidDay: paidDay,
                paidAt: paidAt
            )
        }
        guard let locked else { throw RPCError.notFound("order") }
        return locked
    }
}

/// What the payment transitions need of an order they hold locked.
struct LockedOrder: Sendable {
    var id: UUID
    var status: FinancialStatus
    var total: Int64
    var refunded: Int64
    var currency: String
    var utmCampaign: String
    var utmContent: String
    /// UTC calendar day of `paid_at`; nil while PENDING.
    var paidDay: String?
    /// `paid_at` in RFC 3339 (UTC); nil while PENDING. StatsService counts the order's money on
    /// this instant's day in the attributed ad account's time zone.
    var paidAt: String?
}
