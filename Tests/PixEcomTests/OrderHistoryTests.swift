import Foundation
import Testing

@testable import OrderService

/// The order history's fold and its admission rules, without a database.
@Suite("Order history")
struct OrderHistoryTests {
    typealias Entry = OrderHistory.Entry
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    /// Every ordering of `items`.
    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let first = rest.remove(at: index)
            return Self.permutations(rest).map { [first] + $0 }
        }
    }

    @Test("the state is the same whatever order the entries were appended in")
    func foldIsOrderIndependent() {
        let entries: [Entry] = [
            Entry(kind: .created, amount: 5000, at: self.start),
            Entry(kind: .authorized, amount: 5000, reference: "pi_1", at: self.start.addingTimeInterval(1)),
            Entry(kind: .captured, amount: 5000, reference: "pi_1", at: self.start.addingTimeInterval(2)),
            Entry(kind: .refunded, amount: 700, reference: "ch_1/700", at: self.start.addingTimeInterval(3)),
            Entry(kind: .chargedBack, amount: 2000, reference: "dp_1", at: self.start.addingTimeInterval(4)),
            Entry(kind: .chargebackReversed, amount: 2000, reference: "dp_1", at: self.start.addingTimeInterval(5)),
        ]
        let expected = OrderHistory(total: 5000, entries: entries).state
        #expect(expected.financialStatus == .partiallyRefunded)
        #expect(expected.orderStatus == .open)
        #expect((expected.authorized, expected.captured, expected.refunded, expected.chargedBack) == (5000, 5000, 700, 0))
        #expect(expected.paidAt == self.start.addingTimeInterval(2))
        let orders = Self.permutations(entries)
        #expect(orders.count == 720)
        for order in orders {
            #expect(OrderHistory(total: 5000, entries: order).state == expected)
        }
    }

    @Test("statuses: pending, authorized, paid, partially refunded, refunded, voided, charged back; open, cancelled, closed")
    func statuses() throws {
        func state(_ requests: [OrderHistory.Request]) throws -> OrderHistory.State {
            var history = OrderHistory(total: 1000, entries: [Entry(kind: .created, amount: 1000)])
            for request in requests { history.entries.append(try history.admit(request)) }
            return history.state
        }
        #expect(try state([]).financialStatus == .pending)
        #expect(try state([.authorize(amount: 1000, reference: "pi")]).financialStatus == .authorized)
        #expect(try state([.authorize(amount: 1000, reference: "pi"), .void(reference: "pi")]).financialStatus == .voided)
        #expect(try state([.captureRemaining(reference: "")]).financialStatus == .paid)
        #expect(
            try state([.captureRemaining(reference: ""), .refund(amount: 1, reference: "", note: "")]).financialStatus == .partiallyRefunded
        )
        #expect(try state([.captureRemaining(reference: ""), .refund(amount: 1000, reference: "", note: "")]).financialStatus == .refunded)
        let chargedBack = try state([.captureRemaining(reference: ""), .chargeback(amount: 400, reference: "dp")])
        #expect(chargedBack.financialStatus == .chargedBack)
        #expect(chargedBack.retained == 600)
        let reversed = try state([
            .captureRemaining(reference: ""), .chargeback(amount: 400, reference: "dp"), .reverseChargeback(reference: "dp"),
        ])
        #expect(reversed.financialStatus == .paid && reversed.chargedBack == 0)
        let cancelled = try state([.authorize(amount: 1000, reference: "pi"), .void(reference: "pi"), .cancel(reason: "fraud")])
        #expect(cancelled.orderStatus == .cancelled && cancelled.cancelReason == "fraud")
        #expect(try state([.captureRemaining(reference: ""), .close]).orderStatus == .closed)
        // Partial captures of one authorization add up.
        let split = try state([
            .authorize(amount: 1000, reference: "pi"), .capture(amount: 600, reference: "c1"), .capture(amount: 400, reference: "c2"),
        ])
        #expect(split.captured == 1000 && split.financialStatus == .paid)
    }

    @Test("refused: a refund or chargeback above what is held, a capture above the authorization, and every transaction out of turn")
    func refusals() throws {
        var paid = OrderHistory(total: 1000, entries: [Entry(kind: .created, amount: 1000)])
        paid.entries.append(try paid.admit(.captureRemaining(reference: "pi_1")))
        paid.entries.append(try paid.admit(.refund(amount: 300, reference: "re_1", note: "")))

        func refusal(_ history: OrderHistory, _ request: OrderHistory.Request) -> OrderHistory.Refusal? {
            do {
                _ = try history.admit(request)
                return nil
            } catch {
                return error
            }
        }
        let overRefund = refusal(paid, .refund(amount: 701, reference: "", note: ""))
        #expect(overRefund?.field == "amount")
        #expect(overRefund?.message.contains("700") == true, "says how much remains: \(String(describing: overRefund))")
        #expect(refusal(paid, .refund(amount: 700, reference: "", note: "")) == nil)
        #expect(refusal(paid, .refund(amount: 10, reference: "re_1", note: ""))?.field == "reference", "a refund reference counts once")
        #expect(refusal(paid, .chargeback(amount: 701, reference: "dp_1"))?.field == "amount")
        #expect(refusal(paid, .captureRemaining(reference: "")) != nil, "paid twice")
        #expect(refusal(paid, .authorize(amount: 1, reference: "")) != nil, "authorized after capture")
        #expect(refusal(paid, .void(reference: "")) != nil, "a captured payment is refunded, not voided")
        #expect(refusal(paid, .reverseChargeback(reference: "dp_9"))?.field == "reference", "no such chargeback")
        #expect(refusal(paid, .cancel(reason: "other")) != nil, "money is still held")

        let pending = OrderHistory(total: 1000, entries: [Entry(kind: .created, amount: 1000)])
        #expect(refusal(pending, .refund(amount: 1, reference: "", note: "")) != nil, "nothing captured")
        #expect(refusal(pending, .chargeback(amount: 1, reference: "dp")) != nil)
        #expect(refusal(pending, .void(reference: "")) != nil, "nothing authorized")
        #expect(refusal(pending, .authorize(amount: 1001, reference: ""))?.field == "amount")
        #expect(refusal(pending, .capture(amount: 1001, reference: ""))?.field == "amount")

        var authorized = pending
        authorized.entries.append(try authorized.admit(.authorize(amount: 800, reference: "pi_2")))
        #expect(refusal(authorized, .capture(amount: 801, reference: ""))?.field == "amount", "capture is bounded by the authorization")
        #expect(refusal(authorized, .cancel(reason: "customer")) != nil, "an open authorization is voided first")

        var cancelled = pending
        cancelled.entries.append(try cancelled.admit(.cancel(reason: "customer")))
        #expect(refusal(cancelled, .captureRemaining(reference: "")) != nil, "a cancelled order takes no payment")
        #expect(refusal(cancelled, .close) != nil)
        #expect(refusal(cancelled, .cancel(reason: "other")) != nil)
    }
}
