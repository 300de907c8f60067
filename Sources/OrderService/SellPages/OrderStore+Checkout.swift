import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

extension OrderStore {
    /// A buyer's checkout on the page with `publicKey`, at most once per idempotency key.
    ///
    /// One transaction: the page is read by its key (the only page the storefront may see), the
    /// transaction becomes the page's seller's, the key is claimed, and then the items are priced
    /// from the page's variants and the order written with its line items and first history
    /// entry. A retry with the key answers the first result, even if the page changed since.
    func checkout(_ request: Pixecom_Orders_V1_CheckoutRequest, key: String, logger: Logger) async throws -> (
        result: Pixecom_Orders_V1_CheckoutResult, replayed: Bool, sellerID: UUID
    ) {
        try await self.db.withTransaction(logger: logger) { connection in
            guard let (sellerID, page) = try await SellPageStore.page(publicKey: request.publicKey, on: connection, logger: logger) else {
                throw RPCError.notFound("sell page")
            }
            guard page.status == .published else {
                throw RPCError(.failedPrecondition, "the sell page is \(page.status.rawValue); only a PUBLISHED page takes checkouts")
            }
            try await connection.setSeller(sellerID, logger: logger)
            var pages = [page]
            try await SellPageStore.attachDetails(to: &pages, sellerID: sellerID, on: connection, logger: logger)
            let claim = try IdempotencyClaim(key: key, method: OrderMethods.checkout, request: request)
            let (result, replayed) = try await Self.idempotent(claim, sellerID: sellerID, on: connection, logger: logger) {
                let priced = try CheckoutPricing.price(request, page: pages[0])
                return try await Self.insertCheckout(priced, page: pages[0], sellerID: sellerID, on: connection, logger: logger)
            }
            return (result, replayed, sellerID)
        }
    }

    private static func insertCheckout(
        _ priced: PricedCheckout, page: SellPageRecord, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Pixecom_Orders_V1_CheckoutResult {
        let orderID = UUID()
        let utm = priced.attribution.utm
        let contact = priced.customer
        let address = priced.address
        let attribution = priced.attribution
        try await connection.query(
            """
            INSERT INTO orders (seller_id, id, currency, total, subtotal, discount, shipping, tax, financial_status, fulfillment_status,
                                utm_source, utm_medium, utm_campaign, utm_content, utm_term, sell_page_id,
                                customer_email, customer_phone, customer_name,
                                ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country,
                                fbclid, fbc, fbp, landing_url, referrer)
            VALUES (\(sellerID), \(orderID), \(page.currency), \(priced.total), \(priced.subtotal), \(priced.discount), \(priced.shipping),
                    \(priced.tax), \(FinancialStatus.pending.rawValue), 'UNFULFILLED',
                    \(utm.source), \(utm.medium), \(utm.campaign), \(utm.content), \(utm.term), \(page.id),
                    \(contact.email), \(contact.phone), \(contact.name),
                    \(address.name), \(address.line1), \(address.line2), \(address.city), \(address.region), \(address.postalCode),
                    \(address.country), \(attribution.fbclid), \(attribution.fbc), \(attribution.fbp), \(attribution.landingURL),
                    \(attribution.referrer))
            """,
            logger: logger
        )
        let items = priced.lineItems
        try await Self.insertLineItems(items, orderID: orderID, sellerID: sellerID, on: connection, logger: logger)
        try await Self.append(
            OrderHistory.Entry(kind: .created, amount: priced.total), orderID: orderID, sellerID: sellerID, source: "storefront",
            on: connection, logger: logger)
        var result = Pixecom_Orders_V1_CheckoutResult()
        result.orderID = orderID.uuidString.lowercased()
        result.currency = page.currency
        result.lineItems = items.map(\.proto)
        result.subtotal = priced.subtotal
        result.discount = priced.discount
        result.shipping = priced.shipping
        result.tax = priced.tax
        result.total = priced.total
        return result
    }
}
