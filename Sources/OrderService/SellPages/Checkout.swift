import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A checkout, validated and priced from the page: what the order is made of.
struct PricedCheckout: Sendable, Hashable {
    var lineItems: [LineItemRecord]
    var subtotal: Int64
    var discount: Int64
    var shipping: Int64
    var tax: Int64
    var total: Int64
    var customer: CheckoutContact
    var address: ShippingAddress
    var attribution: CheckoutAttribution
}

struct CheckoutContact: Sendable, Hashable {
    var email: String
    var phone: String
    var name: String
}

struct ShippingAddress: Sendable, Hashable {
    var name: String
    var line1: String
    var line2: String
    var city: String
    var region: String
    var postalCode: String
    var country: String
}

/// The checkout's parsing and pricing: pure, so every rule is tested without a database.
///
/// Prices come from the page's variants only. A buyer's `unit_price`, when sent, is compared
/// and never used: a different value is refused, naming the item. Totals are integer minor units:
/// subtotal = sum of price x quantity; discount from the code (rounded down); tax = rate x
/// (subtotal - discount), rounded half up; total = subtotal - discount + shipping + tax.
enum CheckoutPricing {
    static let maxItems = 50
    static let quantityRange: ClosedRange<Int32> = 1...100

    static func price(_ request: Pixecom_Orders_V1_CheckoutRequest, page: SellPageRecord, now: Date = Date()) throws -> PricedCheckout {
        var violations = FieldViolations()
        let variants = Dictionary(page.variants.map { ($0.sku, $0) }, uniquingKeysWith: { first, _ in first })
        if request.items.isEmpty { violations.add(field: "items", "must contain at least one item") }
        if request.items.count > Self.maxItems {
            violations.add(field: "items", "must contain at most \(Self.maxItems) items, got \(request.items.count)")
        }
        var seen: Set<String> = []
        var lineItems: [LineItemRecord] = []
        var subtotal: Int64 = 0
        for (index, item) in request.items.prefix(Self.maxItems).enumerated() {
            let field = "items[\(index)]"
            guard let variant = variants[item.sku] else {
                violations.add(field: "\(field).sku", "is not a variant of this sell page: \"\(item.sku.prefix(64))\"")
                continue
            }
            guard seen.insert(item.sku).inserted else {
                violations.add(field: "\(field).sku", "repeats \(item.sku): give one item per SKU with its quantity")
                continue
            }
            guard Self.quantityRange.contains(item.quantity) else {
                violations.add(field: "\(field).quantity", "must be between 1 and \(Self.quantityRange.upperBound)")
                continue
            }
            if item.unitPrice != 0 && item.unitPrice != variant.price {
                violations.add(
                    field: "\(field).unit_price",
                    "is \(item.unitPrice) but the page's price of \(variant.sku) is \(variant.price): reload the page and check out again")
                continue
            }
            // At most 50 items x 100 x 10^10: no overflow.
            subtotal += Int64(item.quantity) * variant.price
            lineItems.append(LineItemRecord(sku: variant.sku, title: variant.title, quantity: item.quantity, unitPrice: variant.price))
        }
        var discount: Int64 = 0
        if !request.discountCode.isEmpty {
            let code = request.discountCode.trimmingCharacters(in: .whitespaces).uppercased()
            if let found = page.discounts.first(where: { $0.code == code }) {
                discount = found.amount(off: subtotal)
            } else {
                violations.add(field: "discount_code", "is not a code of this sell page")
            }
        }
        let contact = Self.contact(request.customer, &violations)
        let address = Self.address(request.shippingAddress, &violations)
        let attribution = CheckoutAttribution.parse(request.attribution, now: now, &violations)
        try violations.throwIfAny()
        guard let contact, let address, let attribution else { throw RPCError(.internal, "checkout validation left a field unset") }
        let taxable = subtotal - discount
        let tax = (taxable * Int64(page.taxRateBps) + 5_000) / 10_000
        let shipping = page.shippingFee
        return PricedCheckout(
            lineItems: lineItems, subtotal: subtotal, discount: discount, shipping: shipping, tax: tax,
            total: taxable + shipping + tax, customer: contact, address: address, attribution: attribution)
    }

    private static func contact(_ customer: Pixecom_Orders_V1_Customer, _ violations: inout FieldViolations) -> CheckoutContact? {
        let email = customer.email.trimmingCharacters(in: .whitespaces)
        var valid = true
        if !Self.isEmail(email) {
            violations.add(field: "customer.email", "must be an e-mail address such as buyer@example.com")
            valid = false
        }
        if !customer.phone.isEmpty && !Self.isE164(customer.phone) {
            violations.add(field: "customer.phone", "must be E.164: + and 8 to 15 digits, e.g. +14155550100")
            valid = false
        }
        let name = Self.optionalText(customer.name, field: "customer.name", &violations)
        guard valid, let name else { return nil }
        return CheckoutContact(email: email.lowercased(), phone: customer.phone, name: name)
    }

    private static func address(_ address: Pixecom_Orders_V1_Address, _ violations: inout FieldViolations) -> ShippingAddress? {
        func required(_ value: String, _ field: String) -> String? {
            try? violations.check { try RequestValidation.text(value, field: "shipping_address.\(field)") }
        }
        let name = required(address.name, "name")
        let line1 = required(address.line1, "line1")
        let city = required(address.city, "city")
        let line2 = Self.optionalText(address.line2, field: "shipping_address.line2", &violations)
        let region = Self.optionalText(address.region, field: "shipping_address.region", &violations)
        let postal = address.postalCode.trimmingCharacters(in: .whitespaces)
        var valid = true
        let postalBytes = Array(postal.utf8)
        if !(1...16).contains(postalBytes.count)
            || !postalBytes.allSatisfy({ byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-")
            })
        {
            violations.add(field: "shipping_address.postal_code", "must be 1 to 16 letters, digits, spaces or -")
            valid = false
        }
        let country = address.country.uppercased()
        if !ISO3166.alpha2.contains(country) {
            violations.add(field: "shipping_address.country", "must be an ISO 3166-1 alpha-2 code such as US or DE")
            valid = false
        }
        guard valid, let name, let line1, let city, let line2, let region else { return nil }
        return ShippingAddress(
            name: name, line1: line1, line2: line2, city: city, region: region, postalCode: postal.uppercased(), country: country)
    }

    static func optionalText(_ value: String, field: String, _ violations: inout FieldViolations) -> String? {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return "" }
        return try? violations.check { try RequestValidation.text(value, field: field) }
    }

    /// A practical check (RFC 5321 lengths, one @, a dotted domain, no spaces or control
    /// characters), not the full grammar: the address is confirmed by mail, not by parsing.
    static func isEmail(_ value: String) -> Bool {
        guard value.utf8.count <= 254, !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) else {
            return false
        }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].utf8.count) else { return false }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return domain.count >= 2 && domain.allSatisfy { !$0.isEmpty && $0.utf8.count <= 63 }
    }

    static func isE164(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return bytes.first == UInt8(ascii: "+") && (9...16).contains(bytes.count) && bytes[1] != UInt8(ascii: "0")
            && bytes.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
