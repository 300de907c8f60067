import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A validated CreateOrder request.
struct NewOrder: Sendable, Hashable {
    var currency: String
    var lineItems: [LineItemRecord]
    var utm: UtmTags
    /// Sum of quantity x unit price, minor units.
    var total: Int64

    /// An unambiguous byte form of the request (every field length-prefixed), hashed to tell a replay
    /// of an idempotency key from a different request reusing it.
    ///
    /// `Data`, not `[UInt8]`: PostgresNIO binds `Data` as `bytea` but `[UInt8]` as `"char"[]`.
    var fingerprint: Data {
        var bytes = Data()
        func append(_ text: String) {
            let utf8 = Array(text.utf8)
            bytes.append(contentsOf: Array("\(utf8.count):".utf8))
            bytes.append(contentsOf: utf8)
        }
        append("create-order/v1")
        append(self.currency)
        append(String(self.lineItems.count))
        for item in self.lineItems {
            append(item.sku)
            append(item.title)
            append(String(item.quantity))
            append(String(item.unitPrice))
        }
        for tag in [self.utm.source, self.utm.medium, self.utm.campaign, self.utm.content, self.utm.term] {
            append(tag)
        }
        return bytes
    }
}

/// Parsing of OrderService requests; every failure is INVALID_ARGUMENT naming the field.
enum OrderValidation {
    static let maxLineItems = 100
    static let maxSKULength = 100
    static let maxTitleLength = 200
    static let quantityRange: ClosedRange<Int32> = 1...10_000
    static let unitPriceRange: ClosedRange<Int64> = 0...10_000_000_000
    static let maxUtmLength = 200
    static let maxIdempotencyKeyLength = 255
    static let idempotencyKeyField = "idempotency-key"

    static func newOrder(_ request: Pixecom_Orders_V1_CreateOrderRequest) throws -> NewOrder {
        var violations = FieldViolations()
        let currency = try violations.check { try RequestValidation.currency(request.currency, field: "currency") }
        if request.lineItems.isEmpty {
            violations.add(field: "line_items", "must contain at least one item")
        } else if request.lineItems.count > Self.maxLineItems {
            violations.add(field: "line_items", "must contain at most \(Self.maxLineItems) items, got \(request.lineItems.count)")
        }
        var items: [LineItemRecord] = []
        var total: Int64 = 0
        var totalOverflowed = false
        for (index, item) in request.lineItems.prefix(Self.maxLineItems).enumerated() {
            let field = "line_items[\(index)]"
            let sku = try violations.check { try RequestValidation.text(item.sku, field: "\(field).sku", maxLength: Self.maxSKULength) }
            let title = try violations.check {
                try RequestValidation.text(item.title, field: "\(field).title", maxLength: Self.maxTitleLength)
            }
            var valid = sku != nil && title != nil
            if !Self.quantityRange.contains(item.quantity) {
                violations.add(
                    field: "\(field).quantity", "must be between \(Self.quantityRange.lowerBound) and \(Self.quantityRange.upperBound)")
                valid = false
            }
            if !Self.unitPriceRange.contains(item.unitPrice) {
                violations.add(field: "\(field).unit_price", "must be between 0 and \(Self.unitPriceRange.upperBound) minor units")
                valid = false
            }
            guard valid, let sku, let title else { continue }
            let (lineTotal, lineOverflow) = Int64(item.quantity).multipliedReportingOverflow(by: item.unitPrice)
            let (newTotal, sumOverflow) = total.addingReportingOverflow(lineTotal)
            if lineOverflow || sumOverflow {
                totalOverflowed = true
            } else {
                total = newTotal
            }
            items.append(LineItemRecord(sku: sku, title: title, quantity: item.quantity, unitPrice: item.unitPrice))
        }
        if totalOverflowed {
            violations.add(field: "line_items", "order total exceeds the representable amount")
        }
        let utm = request.utm
        let tags: [(String, String)] = [
            ("utm.source", utm.source), ("utm.medium", utm.medium), ("utm.campaign", utm.campaign),
            ("utm.content", utm.content), ("utm.term", utm.term),
        ]
        for (field, value) in tags {
            if value.unicodeScalars.count > Self.maxUtmLength {
                violations.add(field: field, "must be at most \(Self.maxUtmLength) characters")
            } else if value.unicodeScalars.contains("\u{0}") {
                violations.add(field: field, "must not contain NUL characters")  // PostgreSQL text cannot hold one
            }
        }
        try violations.throwIfAny()
        guard let currency else { throw RPCError(.internal, "order validation left currency unset") }
        return NewOrder(
            currency: currency,
            lineItems: items,
            utm: UtmTags(source: utm.source, medium: utm.medium, campaign: utm.campaign, content: utm.content, term: utm.term),
            total: total
        )
    }

    /// The `idempotency-key` metadata entry; nil when absent, refused when empty.
    static func idempotencyKey(_ metadata: [String: String]) throws -> String? {
        guard let key = metadata[Self.idempotencyKeyField] else { return nil }
        guard !key.isEmpty else { throw RPCError.invalidArgument(field: Self.idempotencyKeyField, "must not be empty") }
        guard key.count <= Self.maxIdempotencyKeyLength else {
            throw RPCError.invalidArgument(field: Self.idempotencyKeyField, "must be at most \(Self.maxIdempotencyKeyLength) characters")
        }
        return key
    }

    /// An amount before the order is read: positive. The upper bound needs the order's history.
    static func amount(_ amount: Int64, field: String = "amount") throws -> Int64 {
        guard amount > 0 else { throw RPCError.invalidArgument(field: field, "must be positive (minor units), got \(amount)") }
        return amount
    }

    static let maxReferenceLength = 255
    static let maxNoteLength = 200

    /// A gateway reference: optional unless `required`, at most 255 characters of printable ASCII
    /// (gateway ids are: pi_..., re_..., dp_...).
    static func reference(_ value: String, field: String = "reference", required: Bool = false) throws -> String {
        if value.isEmpty {
            guard !required else { throw RPCError.invalidArgument(field: field, "is required (the gateway's id, e.g. dp_...)") }
            return ""
        }
        guard value.utf8.count <= Self.maxReferenceLength else {
            throw RPCError.invalidArgument(field: field, "must be at most \(Self.maxReferenceLength) characters")
        }
        guard value.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw RPCError.invalidArgument(field: field, "must be printable ASCII without spaces")
        }
        return value
    }

    /// A refund's note: optional, at most 200 characters, no NUL.
    static func note(_ value: String, field: String = "reason") throws -> String {
        guard !value.isEmpty else { return "" }
        return try RequestValidation.text(value, field: field, maxLength: Self.maxNoteLength)
    }

    static func cancelReason(_ value: Pixecom_Orders_V1_CancelReason) throws -> CancelReason {
        guard let reason = CancelReason(value) else {
            throw RPCError.invalidArgument(
                field: "reason", "is required: one of \(CancelReason.allCases.map { $0.rawValue.uppercased() }.joined(separator: ", "))")
        }
        return reason
    }
}
