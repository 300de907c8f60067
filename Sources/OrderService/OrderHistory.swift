import Foundation

/// An order's append-only history and what follows from it: the statuses and amounts are a pure
/// function of the entries, and the `orders` row is only their projection, rewritten from the
/// whole history after every change (`OrderStore.project`).
///
/// Invariants the fold keeps, which make the webhook path order-independent:
/// - The fold is commutative: amounts are sums and flags are "any entry of this kind", so the same
///   set of entries gives the same state in whatever order they were appended.
/// - Entries with a gateway reference are unique per (kind, reference) (a table index), so a
///   transaction reported twice counts once.
/// The checks of `admit` are where order matters: a refund needs a capture to refund, a reversal
/// needs its chargeback. Webhook events that arrive too early wait for what they need
/// (`WebhookApplication`) instead of being checked now and lost.
struct OrderHistory: Sendable, Hashable {
    /// The kinds of entries, stored by raw value in `order_events.type`.
    enum Kind: String, Sendable, CaseIterable {
        case created, authorized, captured, voided, refunded
        case chargedBack = "charged_back"
        case chargebackReversed = "chargeback_reversed"
        case cancelled, closed
        /// A fulfillment shipped `quantities` (its id is the reference); cancelling it takes
        /// them back; a return brings shipped units back.
        case fulfilled
        case fulfillmentCancelled = "fulfillment_cancelled"
        case returned
    }

    struct Entry: Sendable, Hashable {
        var kind: Kind
        /// Minor units; 0 for entries that move no money.
        var amount: Int64 = 0
        /// The gateway's id of the transaction; "" when none was given.
        var reference: String = ""
        /// For `cancelled`: the reason's name.
        var reason: String = ""
        var at: Date = Date()
        /// For the fulfillment kinds: units of each line item, by position (shorter arrays mean
        /// zeros for the rest).
        var quantities: [Int32] = []
        /// Who reported it: "api", "stripe" (a webhook), "storefront", "import".
        var source = "api"
    }

    var total: Int64
    /// The units ordered of each line item, by position.
    var ordered: [Int32] = []
    var entries: [Entry]

    init(total: Int64, ordered: [Int32] = [], entries: [Entry]) {
        self.total = total
        self.ordered = ordered
        self.entries = entries
    }

    /// What the history adds up to.
    struct State: Sendable, Hashable {
        var orderStatus: OrderStatus
        var financialStatus: FinancialStatus
        var authorized: Int64
        var captured: Int64
        var refunded: Int64
        /// Charged back net of reversals.
        var chargedBack: Int64
        var voided: Bool
        var cancelReason: String
        /// The earliest capture.
        var paidAt: Date?
        var fulfillmentStatus: FulfillmentStatus = .unfulfilled
        /// Units of each line item in uncancelled fulfillments, and units returned.
        var fulfilled: [Int32] = []
        var returned: [Int32] = []

        /// Captured money the seller still holds: what a refund or a chargeback can take back.
        var retained: Int64 { self.captured - self.refunded - self.chargedBack }
    }

    var state: State {
        var authorized: Int64 = 0
        var captured: Int64 = 0
        var refunded: Int64 = 0
        var chargedBack: Int64 = 0
        var voided = false
        var cancelReason: String?
        var closed = false
        var paidAt: Date?
        var fulfilled = [Int32](repeating: 0, count: self.ordered.count)
        var returned = fulfilled
        func add(_ quantities: [Int32], to units: inout [Int32], sign: Int32) {
            for (line, quantity) in quantities.enumerated() where line < units.count { units[line] += sign * quantity }
        }
        for entry in self.entries {
            switch entry.kind {
            case .created: break
            case .authorized: authorized += entry.amount
            case .captured:
                captured += entry.amount
                paidAt = min(paidAt ?? entry.at, entry.at)
            case .voided: voided = true
            case .refunded: refunded += entry.amount
            case .chargedBack: chargedBack += entry.amount
            case .chargebackReversed: chargedBack -= entry.amount
            case .cancelled: cancelReason = min(cancelReason ?? entry.reason, entry.reason)
            case .closed: closed = true
            case .fulfilled: add(entry.quantities, to: &fulfilled, sign: 1)
            case .fulfillmentCancelled: add(entry.quantities, to: &fulfilled, sign: -1)
            case .returned: add(entry.quantities, to: &returned, sign: 1)
            }
        }
        let shipped = fulfilled.reduce(0, +)
        let fulfillment: FulfillmentStatus =
            if shipped > 0 && returned.reduce(0, +) >= shipped {
                .returned
            } else if shipped == 0 {
                .unfulfilled
            } else if fulfilled == self.ordered {
                .fulfilled
            } else {
                .partiallyFulfilled
            }
        let financial: FinancialStatus =
            if chargedBack > 0 {
                .chargedBack
            } else if captured > 0 {
                refunded >= captured ? .refunded : refunded > 0 ? .partiallyRefunded : .paid
            } else if voided {
                .voided
            } else if authorized > 0 {
                .authorized
            } else {
                .pending
            }
        let order: OrderStatus = cancelReason != nil ? .cancelled : closed ? .closed : .open
        return State(
            orderStatus: order, financialStatus: financial, authorized: authorized, captured: captured, refunded: refunded,
            chargedBack: chargedBack, voided: voided, cancelReason: cancelReason ?? "", paidAt: paidAt,
            fulfillmentStatus: fulfillment, fulfilled: fulfilled, returned: returned)
    }

    /// A transaction someone asks to record, before it becomes an entry.
    enum Request: Sendable, Hashable {
        case authorize(amount: Int64, reference: String)
        case capture(amount: Int64, reference: String)
        /// Captures whatever remains (of the authorization, or of the total without one).
        case captureRemaining(reference: String)
        case void(reference: String)
        case refund(amount: Int64, reference: String, note: String)
        case chargeback(amount: Int64, reference: String)
        case reverseChargeback(reference: String)
        case cancel(reason: String)
        case close
        /// Ships `quantities` (units by line position), or with nil every unit not yet shipped,
        /// as fulfillment `reference`.
        case fulfill(reference: String, quantities: [Int32]?)
        case cancelFulfillment(reference: String)
        case recordReturn(quantities: [Int32], reference: String, note: String)
    }

    /// Why a request cannot be recorded now: `field` is the request field at fault, if one is.
    struct Refusal: Error, Hashable, CustomStringConvertible {
        var field: String?
        var message: String
        var description: String { self.message }
    }

    /// The entry `request` adds to this history, or why it cannot.
    func admit(_ request: Request, at now: Date = Date()) throws(Refusal) -> Entry {
        let state = self.state
        func referenceUnused(_ kind: Kind, _ reference: String) throws(Refusal) {
            guard !reference.isEmpty else { return }
            if self.entries.contains(where: { $0.kind == kind && $0.reference == reference }) {
                throw Refusal(field: "reference", message: "a \(kind.rawValue) transaction with reference \(reference) is already recorded")
            }
        }
        func acceptingPayments() throws(Refusal) {
            guard state.orderStatus == .open else {
                throw Refusal(message: "order is \(state.orderStatus.rawValue); payments are taken only while it is OPEN")
            }
            guard !state.voided else { throw Refusal(message: "the payment was voided; no further authorization or capture") }
        }
        switch request {
        case .authorize(let amount, let reference):
            try acceptingPayments()
            guard state.captured == 0 else { throw Refusal(message: "payment already captured; nothing to authorize") }
            let room = self.total - state.authorized
            guard amount <= room else {
                throw Refusal(field: "amount", message: "exceeds what remains to authorize: \(room) of total \(self.total)")
            }
            try referenceUnused(.authorized, reference)
            return Entry(kind: .authorized, amount: amount, reference: reference, at: now)
        case .capture(let amount, let reference):
            try acceptingPayments()
            let limit = state.authorized > 0 ? state.authorized : self.total
            let room = limit - state.captured
            guard amount <= room else {
                let what = state.authorized > 0 ? "authorized \(state.authorized)" : "total \(self.total)"
                throw Refusal(field: "amount", message: "exceeds what remains to capture: \(room) of \(what) (captured \(state.captured))")
            }
            try referenceUnused(.captured, reference)
            return Entry(kind: .captured, amount: amount, reference: reference, at: now)
        case .captureRemaining(let reference):
            try acceptingPayments()
            let limit = state.authorized > 0 ? state.authorized : self.total
            guard state.captured == 0, limit > 0 else {
                throw Refusal(message: "order is \(state.financialStatus.rawValue); only a PENDING or AUTHORIZED order can be marked paid")
            }
            try referenceUnused(.captured, reference)
            return Entry(kind: .captured, amount: limit, reference: reference, at: now)
        case .void(let reference):
            guard state.authorized > 0, state.captured == 0, !state.voided else {
                throw Refusal(message: "order is \(state.financialStatus.rawValue); only an AUTHORIZED, uncaptured payment can be voided")
            }
            try referenceUnused(.voided, reference)
            return Entry(kind: .voided, reference: reference, at: now)
        case .refund(let amount, let reference, let note):
            guard state.captured > 0 else {
                throw Refusal(message: "order is \(state.financialStatus.rawValue); nothing was captured to refund")
            }
            guard amount <= state.retained else {
                throw Refusal(
                    field: "amount",
                    message: "exceeds what remains refundable: \(state.retained) of captured \(state.captured) "
                        + "(refunded \(state.refunded), charged back \(state.chargedBack))")
            }
            try referenceUnused(.refunded, reference)
            return Entry(kind: .refunded, amount: amount, reference: reference, reason: note, at: now)
        case .chargeback(let amount, let reference):
            guard state.captured > 0 else {
                throw Refusal(message: "order is \(state.financialStatus.rawValue); nothing was captured to charge back")
            }
            guard amount <= state.retained else {
                throw Refusal(field: "amount", message: "exceeds the captured money the seller still holds: \(state.retained)")
            }
            try referenceUnused(.chargedBack, reference)
            return Entry(kind: .chargedBack, amount: amount, reference: reference, at: now)
        case .reverseChargeback(let reference):
            guard let chargeback = self.entries.first(where: { $0.kind == .chargedBack && $0.reference == reference }) else {
                throw Refusal(field: "reference", message: "no chargeback with reference \(reference) is recorded")
            }
            try referenceUnused(.chargebackReversed, reference)
            return Entry(kind: .chargebackReversed, amount: chargeback.amount, reference: reference, at: now)
        case .cancel(let reason):
            guard state.orderStatus == .open else {
                throw Refusal(message: "order is \(state.orderStatus.rawValue); only an OPEN order can be cancelled")
            }
            guard state.retained == 0 else {
                throw Refusal(message: "the order holds \(state.retained) captured; refund it before cancelling")
            }
            guard state.authorized == 0 || state.voided || state.captured > 0 else {
                throw Refusal(message: "an authorization of \(state.authorized) is open; void it before cancelling")
            }
            return Entry(kind: .cancelled, reason: reason, at: now)
        case .close:
            guard state.orderStatus == .open else {
                throw Refusal(message: "order is \(state.orderStatus.rawValue); only an OPEN order can be closed")
            }
            return Entry(kind: .closed, at: now)
        case .fulfill(let reference, let quantities):
            guard state.orderStatus == .open else {
                throw Refusal(message: "order is \(state.orderStatus.rawValue); only an OPEN order's items can be fulfilled")
            }
            let unshipped = zip(self.ordered, state.fulfilled).map { $0 - $1 }
            let units = try Self.units(quantities ?? unshipped, within: unshipped, lines: self.ordered.count, what: "not yet fulfilled")
            try referenceUnused(.fulfilled, reference)
            return Entry(kind: .fulfilled, reference: reference, at: now, quantities: units)
        case .cancelFulfillment(let reference):
            guard let shipment = self.entries.first(where: { $0.kind == .fulfilled && $0.reference == reference }) else {
                throw Refusal(field: "fulfillment_id", message: "no fulfillment \(reference) is recorded on this order")
            }
            guard !self.entries.contains(where: { $0.kind == .fulfillmentCancelled && $0.reference == reference }) else {
                throw Refusal(message: "fulfillment \(reference) is cancelled already")
            }
            for line in self.ordered.indices {
                let left = state.fulfilled[line] - (line < shipment.quantities.count ? shipment.quantities[line] : 0)
                guard left >= state.returned[line] else {
                    throw Refusal(
                        message: "units of line \(line) in this fulfillment were returned; a returned shipment cannot be cancelled")
                }
            }
            return Entry(kind: .fulfillmentCancelled, reference: reference, at: now, quantities: shipment.quantities)
        case .recordReturn(let quantities, let reference, let note):
            let out = zip(state.fulfilled, state.returned).map { $0 - $1 }
            let units = try Self.units(quantities, within: out, lines: self.ordered.count, what: "shipped and not yet returned")
            try referenceUnused(.returned, reference)
            return Entry(kind: .returned, reference: reference, reason: note, at: now, quantities: units)
        }
    }

    /// `quantities` checked against `room` (the units of each line that may move): every line
    /// named exists, none exceeds its room, and at least one unit moves.
    private static func units(_ quantities: [Int32], within room: [Int32], lines: Int, what: String) throws(Refusal) -> [Int32] {
        guard quantities.count <= lines else {
            throw Refusal(field: "lines", message: "the order has \(lines) line items (lines 0 to \(lines - 1))")
        }
        for (line, quantity) in quantities.enumerated() where quantity > room[line] {
            throw Refusal(field: "lines", message: "line \(line): \(quantity) units asked, \(room[line]) \(what)")
        }
        guard quantities.contains(where: { $0 > 0 }) else {
            throw Refusal(field: "lines", message: "no units left \(what)")
        }
        return quantities + [Int32](repeating: 0, count: lines - quantities.count)
    }
}
