import Foundation
import RPCKit
import ServiceKit

/// What an import's file is.
enum ImportKind: String, Sendable, CaseIterable {
    case orders = "ORDERS"
    case fulfillments = "FULFILLMENTS"
}

/// A bad row: its line, the column at fault ("" for the row as a whole) and what was wrong.
struct ImportRowError: Sendable, Hashable {
    var line: Int
    var field: String
    var message: String
}

/// A file that cannot be read on: the import fails with this reason.
struct ImportFailure: Error, CustomStringConvertible, Equatable {
    var description: String
}

/// The header row: which column holds what. Names are matched ignoring case and surrounding
/// spaces; columns the import does not read are ignored (a Shopify export has many).
struct ImportHeader: Sendable {
    private var columns: [String: Int] = [:]
    /// The header names as the file spells them, by column.
    let names: [String]

    init(_ row: CSVReader.Row, kind: ImportKind) throws {
        if let problem = row.problem {
            throw ImportFailure(description: "the header (line \(row.line)) is not a CSV row: \(problem.message)")
        }
        self.names = row.fields
        for (index, name) in row.fields.enumerated() {
            let key = Self.key(name)
            guard !key.isEmpty else { continue }
            if self.columns[key] != nil { throw ImportFailure(description: "the header names the column \"\(name)\" twice") }
            self.columns[key] = index
        }
        let required: [String] =
            switch kind {
            case .orders: ["Currency", "Lineitem quantity", "Lineitem name", "Lineitem price"]
            case .fulfillments: ["Tracking Number"]
            }
        let missing = required.filter { self.columns[Self.key($0)] == nil }
        if !self.has("Name") && !self.has("Id") {
            throw ImportFailure(description: "the header needs a column \"Name\" (or \"Id\") naming each row's order")
        }
        if !missing.isEmpty {
            throw ImportFailure(
                description: "the header has no column " + missing.map { "\"\($0)\"" }.joined(separator: ", ")
                    + " (docs/API.md, \"Imports\", lists the columns)")
        }
    }

    static func key(_ name: String) -> String { name.trimmingCharacters(in: .whitespaces).lowercased() }

    func has(_ name: String) -> Bool { self.columns[Self.key(name)] != nil }

    /// The row's cell of column `name` ("" when the file has no such column or the row is short),
    /// with the export's formula guard (a leading apostrophe before = + - @ tab or CR) taken off.
    func value(_ row: CSVReader.Row, _ name: String) -> String {
        guard let index = self.columns[Self.key(name)], index < row.fields.count else { return "" }
        let cell = row.fields[index]
        if cell.hasPrefix("'"), let second = cell.dropFirst().first, "=+-@\t\r".contains(second) { return String(cell.dropFirst()) }
        return cell
    }

    /// The header name of column `index`, for an error about it.
    func name(of index: Int?) -> String {
        guard let index else { return "" }
        return index < self.names.count ? self.names[index] : "column \(index + 1)"
    }
}

/// Checks of one row's cells; each failure is kept with its column, the first one is the row's
/// error and the others join its message.
struct RowChecks {
    let row: CSVReader.Row
    let header: ImportHeader
    private(set) var problems: [(field: String, message: String)] = []

    init(_ row: CSVReader.Row, header: ImportHeader) {
        self.row = row
        self.header = header
        if let problem = row.problem { self.problems.append((header.name(of: problem.column), problem.message)) }
    }

    var isValid: Bool { self.problems.isEmpty }

    mutating func add(_ field: String, _ message: String) { self.problems.append((field, message)) }

    var error: ImportRowError? {
        guard let first = self.problems.first else { return nil }
        let also = self.problems.dropFirst().map { "\($0.field.isEmpty ? "" : "\($0.field): ")\($0.message)" }
        return ImportRowError(
            line: self.row.line, field: first.field,
            message: ([first.message] + also.map { "also \($0)" }).joined(separator: "; "))
    }

    func value(_ name: String) -> String { self.header.value(self.row, name) }

    /// A text cell: trimmed, at most `maxLength` characters, no control characters; "" allowed
    /// unless `required`.
    mutating func text(_ name: String, maxLength: Int = 200, required: Bool = false) -> String {
        let value = self.value(name).trimmingCharacters(in: .whitespaces)
        if value.isEmpty {
            if required { self.add(name, "is required") }
            return ""
        }
        if value.unicodeScalars.count > maxLength {
            self.add(name, "is \(value.unicodeScalars.count) characters; at most \(maxLength)")
        } else if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            self.add(name, "has a line break or another control character")
        }
        return value
    }

    /// Money in the currency's major units ("12.50"; "1250" for JPY) as minor units; nil when
    /// empty.
    mutating func money(_ name: String, exponent: Int, required: Bool = false, max: Int64 = 10_000_000_000) -> Int64? {
        let value = self.value(name).trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else {
            if required { self.add(name, "is required") }
            return nil
        }
        let parts = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        func digits(_ text: Substring) -> Bool { text.allSatisfy { $0.isASCII && $0.isNumber } }
        guard !whole.isEmpty, whole.count <= 12, digits(whole), digits(fraction), parts.count == 1 || !fraction.isEmpty else {
            self.add(
                name,
                "must be an amount such as \(exponent == 0 ? "1250" : "12." + String(repeating: "5", count: exponent)), got \(value.prefix(40))"
            )
            return nil
        }
        guard fraction.count <= exponent else {
            self.add(name, "has \(fraction.count) decimals; the currency has \(exponent)")
            return nil
        }
        var minor = Int64(whole)!
        for _ in 0..<exponent { minor *= 10 }
        if !fraction.isEmpty {
            var part = Int64(fraction)!
            for _ in fraction.count..<exponent { part *= 10 }
            minor += part
        }
        guard minor <= max else {
            self.add(name, "is more than the largest amount taken")
            return nil
        }
        return minor
    }

    /// A whole number in `range`.
    mutating func integer(_ name: String, in range: ClosedRange<Int32>, required: Bool = false) -> Int32? {
        let value = self.value(name).trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else {
            if required { self.add(name, "is required") }
            return nil
        }
        guard let number = Int32(value), range.contains(number) else {
            self.add(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value.prefix(40))")
            return nil
        }
        return number
    }

    /// An RFC 3339 time; nil when empty.
    mutating func time(_ name: String) -> Date? {
        let value = self.value(name).trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        guard let date = TrackingProvider.date(value) else {
            self.add(name, "must be an RFC 3339 time such as 2026-01-31T09:30:00Z, got \(value.prefix(40))")
            return nil
        }
        return date
    }

    /// A UUID; nil when empty.
    mutating func id(_ name: String) -> UUID? {
        let value = self.value(name).trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        guard let id = UUID(canonical: value) else {
            self.add(name, "must be a UUID, got \(value.prefix(64))")
            return nil
        }
        return id
    }
}

/// One order of an ORDERS file, its rows checked.
struct ImportedOrder: Sendable, Hashable {
    var reference: String
    var lines: [Int]
    var currency: String
    var lineItems: [LineItemRecord]
    var subtotal: Int64
    var discount: Int64
    var shipping: Int64
    var tax: Int64
    var total: Int64
    var refunded: Int64
    var createdAt: Date
    var paidAt: Date?
    var email = ""
    var phone = ""
    var address = ShippingAddress(name: "", line1: "", line2: "", city: "", region: "", postalCode: "", country: "")
    var sellPageID: UUID?
    var utm = UtmTags()

    /// The history the order starts with: created, and for a paid order its capture and any
    /// refund (the file says how much, not when: at the payment's time).
    var history: OrderHistory {
        var entries = [OrderHistory.Entry(kind: .created, amount: self.total, at: self.createdAt)]
        if let paidAt = self.paidAt {
            entries.append(OrderHistory.Entry(kind: .captured, amount: self.total, at: paidAt))
            if self.refunded > 0 { entries.append(OrderHistory.Entry(kind: .refunded, amount: self.refunded, at: paidAt)) }
        }
        return OrderHistory(total: self.total, ordered: self.lineItems.map(\.quantity), entries: entries)
    }
}

enum ImportRows {
    /// An order's rows, checked.
    enum Checked: Sendable {
        case order(ImportedOrder)
        /// The errors of its bad rows, and how many good rows are skipped with them.
        case bad(errors: [ImportRowError], skipped: Int)
    }

    /// The order name of a row of an ORDERS file (or the order a FULFILLMENTS row is about).
    static func reference(_ row: CSVReader.Row, header: ImportHeader) -> String {
        let name = header.value(row, "Name").trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? header.value(row, "Id").trimmingCharacters(in: .whitespaces) : name
    }

    /// The financial statuses a file may give an order: what money it took and gave back.
    static let importedStatuses: [FinancialStatus] = [.pending, .paid, .partiallyRefunded, .refunded]

    /// An order from its rows (which share its name and follow each other): the order, or the
    /// errors of its bad rows and the lines of its good rows (skipped with it).
    static func order(_ rows: [CSVReader.Row], header: ImportHeader, now: Date) -> Checked {
        var errors: [ImportRowError] = []
        var first = RowChecks(rows[0], header: header)
        let reference = Self.reference(rows[0], header: header)
        let referenceField = header.has("Name") ? "Name" : "Id"
        if reference.isEmpty {
            first.add(referenceField, "is required: the order's name, the same on each of its rows")
        } else if reference.unicodeScalars.count > 64 {
            first.add(referenceField, "is \(reference.unicodeScalars.count) characters; at most 64")
        }
        let currencyText = first.value("Currency").trimmingCharacters(in: .whitespaces).uppercased()
        var exponent = 2
        if currencyText.isEmpty {
            first.add("Currency", "is required (an ISO 4217 code such as USD)")
        } else if !ISO4217.isActive(currencyText), let known = ISO4217.exponent(of: currencyText) {
            first.add("Currency", "\(currencyText) is no longer in use")
            exponent = known
        } else if let known = ISO4217.exponent(of: currencyText) {
            exponent = known
        } else {
            first.add("Currency", "must be an ISO 4217 code such as USD, got \(currencyText.prefix(16))")
        }
        let statusText = first.value("Financial Status").trimmingCharacters(in: .whitespaces).uppercased()
        var status = FinancialStatus.pending
        if !statusText.isEmpty {
            if let known = Self.importedStatuses.first(where: { $0.rawValue == statusText }) {
                status = known
            } else {
                first.add("Financial Status", "must be PENDING, PAID, PARTIALLY_REFUNDED or REFUNDED, got \(statusText.prefix(40))")
            }
        }
        let createdAt = first.time("Created at") ?? now
        if createdAt > now.addingTimeInterval(300) { first.add("Created at", "is in the future") }
        let paidAtGiven = first.time("Paid at")
        let discount = first.money("Discount Amount", exponent: exponent) ?? 0
        let shipping = first.money("Shipping", exponent: exponent) ?? 0
        let tax = first.money("Taxes", exponent: exponent) ?? 0
        let subtotalGiven = first.money("Subtotal", exponent: exponent)
        let totalGiven = first.money("Total", exponent: exponent)
        let refundedGiven = first.money("Refunded Amount", exponent: exponent)
        var order = ImportedOrder(
            reference: reference, lines: rows.map(\.line), currency: currencyText, lineItems: [], subtotal: 0, discount: discount,
            shipping: shipping, tax: tax, total: 0, refunded: 0, createdAt: createdAt, paidAt: nil)
        order.email = first.text("Email", maxLength: 254).lowercased()
        if !order.email.isEmpty && !CheckoutPricing.isEmail(order.email) {
            first.add("Email", "must be an e-mail address such as buyer@example.com")
        }
        order.phone = first.text("Phone", maxLength: 16)
        if !order.phone.isEmpty && !CheckoutPricing.isE164(order.phone) {
            first.add("Phone", "must be E.164: + and 8 to 15 digits, e.g. +14155550100")
        }
        order.address = ShippingAddress(
            name: first.text("Shipping Name"), line1: first.text("Shipping Address1"), line2: first.text("Shipping Address2"),
            city: first.text("Shipping City"), region: first.text("Shipping Province"),
            postalCode: first.text("Shipping Zip", maxLength: 16).uppercased(), country: first.text("Shipping Country").uppercased())
        if !order.address.country.isEmpty && !ISO3166.alpha2.contains(order.address.country) {
            first.add("Shipping Country", "must be an ISO 3166-1 alpha-2 code such as US or DE")
        }
        order.sellPageID = first.id("Sell Page Id")
        let utmMax = OrderValidation.maxUtmLength
        order.utm = UtmTags(
            source: first.text("UTM Source", maxLength: utmMax).lowercased(),
            medium: first.text("UTM Medium", maxLength: utmMax).lowercased(),
            campaign: first.text("UTM Campaign", maxLength: utmMax), content: first.text("UTM Content", maxLength: utmMax),
            term: first.text("UTM Term", maxLength: utmMax))

        // Line items, one a row.
        var checks = [first]
        for row in rows.dropFirst() { checks.append(RowChecks(row, header: header)) }
        var items: [LineItemRecord] = []
        for index in checks.indices {
            if index >= OrderValidation.maxLineItems {
                checks[index].add("", "an order has at most \(OrderValidation.maxLineItems) line items")
                continue
            }
            let quantity = checks[index].integer("Lineitem quantity", in: OrderValidation.quantityRange, required: true)
            let title = checks[index].text("Lineitem name", maxLength: OrderValidation.maxTitleLength, required: true)
            let price = checks[index].money(
                "Lineitem price", exponent: exponent, required: true, max: OrderValidation.unitPriceRange.upperBound)
            let sku = checks[index].text("Lineitem sku", maxLength: OrderValidation.maxSKULength)
            if let quantity, let price { items.append(LineItemRecord(sku: sku, title: title, quantity: quantity, unitPrice: price)) }
        }
        // The sums, checked against what the file says.
        let subtotal = items.reduce(Int64(0)) { $0 + Int64($1.quantity) * $1.unitPrice }
        if checks.allSatisfy(\.isValid) {
            if let subtotalGiven, subtotalGiven != subtotal {
                checks[0].add("Subtotal", "is \(subtotalGiven) minor units but the line items add up to \(subtotal)")
            }
            if discount > subtotal { checks[0].add("Discount Amount", "is more than the subtotal") }
            let total = subtotal - discount + shipping + tax
            if let totalGiven, totalGiven != total {
                checks[0].add("Total", "is \(totalGiven) minor units but subtotal - discount + shipping + taxes is \(total)")
            }
            order.total = total
            switch status {
            case .pending:
                if (refundedGiven ?? 0) != 0 { checks[0].add("Refunded Amount", "must be empty or 0 for an unpaid order") }
                if paidAtGiven != nil { checks[0].add("Paid at", "must be empty for a PENDING order") }
            case .paid:
                if (refundedGiven ?? 0) != 0 {
                    checks[0].add("Refunded Amount", "must be empty or 0 for a PAID order (say PARTIALLY_REFUNDED)")
                }
            case .partiallyRefunded:
                if let refundedGiven, refundedGiven > 0, refundedGiven < total {
                    order.refunded = refundedGiven
                } else {
                    checks[0].add("Refunded Amount", "must be more than 0 and less than the total for a PARTIALLY_REFUNDED order")
                }
            case .refunded:
                if let refundedGiven, refundedGiven != total {
                    checks[0].add("Refunded Amount", "must be the total (or empty) for a REFUNDED order")
                }
                order.refunded = total
            default:
                break
            }
            if status != .pending { order.paidAt = paidAtGiven ?? createdAt }
        }
        order.subtotal = subtotal
        order.lineItems = items
        errors = checks.compactMap(\.error)
        guard errors.isEmpty else { return .bad(errors: errors, skipped: rows.count - errors.count) }
        return .order(order)
    }
}
