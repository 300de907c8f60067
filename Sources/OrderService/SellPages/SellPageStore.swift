import Foundation
import Logging
import PostgresNIO
import RPCKit

/// Sell pages in Postgres. Every query of a seller's pages is scoped to that seller; the
/// storefront reads one page by its public key (`page(publicKey:on:)`).
struct SellPageStore: Sendable {
    let db: PostgresClient

    /// The `sell_pages` columns `decodePages` reads, in order. A constant: never user input.
    static let columns =
        "seller_id, id, slug, title, currency, status, shipping_fee, tax_rate_bps, public_key, created_at, updated_at"

    /// A new public key: "pk_" and 24 characters of a-z0-9 (about 124 bits).
    static func newPublicKey() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var generator = SystemRandomNumberGenerator()
        return "pk_"
            + String(decoding: (0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }, as: UTF8.self)
    }

    /// Creates a page inside the caller's seller-scoped transaction; a slug the seller already
    /// uses is ALREADY_EXISTS.
    static func create(_ page: NewSellPage, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> SellPageRecord
    {
        let id = UUID()
        do {
            try await connection.query(
                """
                INSERT INTO sell_pages (seller_id, id, slug, title, currency, status, shipping_fee, tax_rate_bps, public_key)
                VALUES (\(sellerID), \(id), \(page.slug), \(page.title), \(page.currency), \(page.status.rawValue),
                        \(page.shippingFee), \(page.taxRateBps), \(Self.newPublicKey()))
                """,
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw RPCError(.alreadyExists, "slug \(page.slug) is taken by another of your sell pages")
        }
        try await Self.replaceVariants(page.variants, pageID: id, sellerID: sellerID, on: connection, logger: logger)
        try await Self.replaceDiscounts(page.discounts, pageID: id, sellerID: sellerID, on: connection, logger: logger)
        return try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
    }

    /// Applies `change` inside the caller's seller-scoped transaction.
    static func update(_ id: UUID, _ change: SellPageChange, sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws -> SellPageRecord
    {
        let rows = try await connection.query(
            """
            UPDATE sell_pages SET title = coalesce(\(change.title), title), status = coalesce(\(change.status?.rawValue), status),
                shipping_fee = coalesce(\(change.shippingFee), shipping_fee), tax_rate_bps = coalesce(\(change.taxRateBps), tax_rate_bps),
                updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            RETURNING id
            """,
            logger: logger
        )
        var found = false
        for try await _ in rows.decode(UUID.self) { found = true }
        guard found else { throw RPCError.notFound("sell page") }
        if let variants = change.variants {
            try await Self.replaceVariants(variants, pageID: id, sellerID: sellerID, on: connection, logger: logger)
        }
        if let discounts = change.discounts {
            try await Self.replaceDiscounts(discounts, pageID: id, sellerID: sellerID, on: connection, logger: logger)
        }
        return try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
    }

    func get(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> SellPageRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await Self.load(id, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    func list(sellerID: UUID, after cursor: (createdAt: Date, id: UUID)?, limit: Int, logger: Logger) async throws -> (
        pages: [SellPageRecord], hasMore: Bool
    ) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let micros = cursor.map { Int64(($0.createdAt.timeIntervalSince1970 * 1_000_000).rounded()) } ?? Int64.min
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM sell_pages
                WHERE seller_id = \(sellerID)
                  AND (\(cursor == nil) OR (created_at, id) > (timestamptz 'epoch' + \(micros) * interval '1 microsecond', \(cursor?.id ?? UUID())))
                ORDER BY created_at, id
                LIMIT \(limit + 1)
                """,
                logger: logger
            )
            var pages = try await Self.decodePages(rows)
            let hasMore = pages.count > limit
            if hasMore { pages.removeLast(pages.count - limit) }
            try await Self.attachDetails(to: &pages, sellerID: sellerID, on: connection, logger: logger)
            return (pages, hasMore)
        }
    }

    /// The page with `publicKey` and its seller, read in the caller's transaction, which may
    /// then see that one page (the `storefront_page` policy); nil when no page has the key.
    static func page(publicKey: String, on connection: PostgresConnection, logger: Logger) async throws -> (UUID, SellPageRecord)? {
        try await connection.query("SELECT set_config('app.storefront_key', \(publicKey), true)", logger: logger)
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM sell_pages WHERE public_key = \(publicKey)", logger: logger)
        return try await Self.decodeOwnedPages(rows).first
    }

    /// The page with `publicKey` and its seller, read on its own (the storefront's events need no
    /// more than the page's id, status and currency), or nil.
    func storefrontPage(publicKey: String, logger: Logger) async throws -> (UUID, SellPageRecord)? {
        try await self.db.withTransaction(logger: logger) { connection in
            try await Self.page(publicKey: publicKey, on: connection, logger: logger)
        }
    }

    /// The page with its variants and discounts, or NOT_FOUND.
    static func load(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> SellPageRecord {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM sell_pages WHERE seller_id = \(sellerID) AND id = \(id)", logger: logger)
        var pages = try await Self.decodePages(rows)
        guard !pages.isEmpty else { throw RPCError.notFound("sell page") }
        try await Self.attachDetails(to: &pages, sellerID: sellerID, on: connection, logger: logger)
        return pages[0]
    }

    private static func replaceVariants(
        _ variants: [SellPageRecord.Variant], pageID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "DELETE FROM sell_page_variants WHERE seller_id = \(sellerID) AND sell_page_id = \(pageID)", logger: logger)
        try await connection.query(
            """
            INSERT INTO sell_page_variants (seller_id, sell_page_id, position, sku, title, price)
            SELECT \(sellerID), \(pageID), v.position, v.sku, v.title, v.price
            FROM unnest(\(variants.indices.map { Int32($0) })::integer[], \(variants.map(\.sku))::text[],
                        \(variants.map(\.title))::text[], \(variants.map(\.price))::bigint[]) AS v(position, sku, title, price)
            """,
            logger: logger
        )
    }

    private static func replaceDiscounts(
        _ discounts: [SellPageRecord.Discount], pageID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "DELETE FROM sell_page_discounts WHERE seller_id = \(sellerID) AND sell_page_id = \(pageID)", logger: logger)
        guard !discounts.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO sell_page_discounts (seller_id, sell_page_id, code, kind, value)
            SELECT \(sellerID), \(pageID), d.code, d.kind, d.value
            FROM unnest(\(discounts.map(\.code))::text[], \(discounts.map(\.kind.rawValue))::text[], \(discounts.map(\.value))::bigint[])
                AS d(code, kind, value)
            """,
            logger: logger
        )
    }

    private static func decodePages(_ rows: PostgresRowSequence) async throws -> [SellPageRecord] {
        try await Self.decodeOwnedPages(rows).map(\.page)
    }

    /// The pages of `rows` (selected as `columns`), each with its seller.
    private static func decodeOwnedPages(_ rows: PostgresRowSequence) async throws -> [(sellerID: UUID, page: SellPageRecord)] {
        var pages: [(UUID, SellPageRecord)] = []
        for try await (sellerID, id, slug, title, currency, status, shipping, tax, key, created, updated) in rows.decode(
            (UUID, UUID, String, String, String, String, Int64, Int32, String, Date, Date).self)
        {
            guard let status = SellPageRecord.Status(rawValue: status) else { throw RPCError(.internal, "sell page has an unknown status") }
            pages.append(
                (
                    sellerID,
                    SellPageRecord(
                        id: id, slug: slug, title: title, currency: currency, status: status, shippingFee: shipping, taxRateBps: tax,
                        publicKey: key, createdAt: created, updatedAt: updated)
                ))
        }
        return pages
    }

    /// Fills in variants and discounts with two queries, whatever the number of pages.
    static func attachDetails(to pages: inout [SellPageRecord], sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !pages.isEmpty else { return }
        let ids = pages.map(\.id)
        var variants: [UUID: [SellPageRecord.Variant]] = [:]
        let variantRows = try await connection.query(
            """
            SELECT sell_page_id, sku, title, price FROM sell_page_variants
            WHERE seller_id = \(sellerID) AND sell_page_id = ANY(\(ids)::uuid[]) ORDER BY sell_page_id, position
            """,
            logger: logger
        )
        for try await (page, sku, title, price) in variantRows.decode((UUID, String, String, Int64).self) {
            variants[page, default: []].append(SellPageRecord.Variant(sku: sku, title: title, price: price))
        }
        var discounts: [UUID: [SellPageRecord.Discount]] = [:]
        let discountRows = try await connection.query(
            """
            SELECT sell_page_id, code, kind, value FROM sell_page_discounts
            WHERE seller_id = \(sellerID) AND sell_page_id = ANY(\(ids)::uuid[]) ORDER BY sell_page_id, code
            """,
            logger: logger
        )
        for try await (page, code, kind, value) in discountRows.decode((UUID, String, String, Int64).self) {
            guard let kind = SellPageRecord.Discount.Kind(rawValue: kind) else { throw RPCError(.internal, "discount has an unknown kind") }
            discounts[page, default: []].append(SellPageRecord.Discount(code: code, kind: kind, value: value))
        }
        for index in pages.indices {
            pages[index].variants = variants[pages[index].id] ?? []
            pages[index].discounts = discounts[pages[index].id] ?? []
        }
    }
}
