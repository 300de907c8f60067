import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit
import SwiftProtobuf

/// Sell pages, custom domains and the storefront checkout.
extension OrderHandlers {
    func createSellPage(_ request: Pixecom_Orders_V1_CreateSellPageRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_SellPage
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let page = try violations.check { try SellPageValidation.newPage(request) }
        let claim = try violations.check { try self.claim(OrderMethods.createSellPage, request, context) }
        try violations.throwIfAny()
        guard let page, let claim else { throw RPCError(.internal, "sell page validation left a field unset") }
        let (created, replayed) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            try await SellPageStore.create(page, sellerID: sellerID, on: connection, logger: context.logger).proto
        }
        context.logger.info(
            replayed ? "sell_page.create.replayed" : "sell_page.created",
            metadata: ["seller.id": "\(sellerID)", "sell_page.id": "\(created.id)"])
        return created
    }

    func getSellPage(_ request: Pixecom_Orders_V1_GetSellPageRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_SellPage {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        return try await self.sellPages.get(id, sellerID: sellerID, logger: context.logger).proto
    }

    func listSellPages(_ request: Pixecom_Orders_V1_ListSellPagesRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_ListSellPagesResponse
    {
        let sellerID = try await self.seller(context)
        let pageSize = try RequestValidation.pageSize(request.pageSize)
        let cursor = try PageToken.decode(request.pageToken)
        let page = try await self.sellPages.list(sellerID: sellerID, after: cursor, limit: pageSize, logger: context.logger)
        var response = Pixecom_Orders_V1_ListSellPagesResponse()
        response.sellPages = page.pages.map(\.proto)
        if page.hasMore, let last = page.pages.last {
            response.nextPageToken = PageToken.encode(createdAt: last.createdAt, id: last.id)
        }
        return response
    }

    func updateSellPage(_ request: Pixecom_Orders_V1_UpdateSellPageRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_SellPage
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let change = try violations.check { try SellPageValidation.change(request) }
        let claim = try violations.check { try self.claim(OrderMethods.updateSellPage, request, context) }
        try violations.throwIfAny()
        guard let (id, change) = change, let claim else { throw RPCError(.internal, "sell page validation left a field unset") }
        return try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            try await SellPageStore.update(id, change, sellerID: sellerID, on: connection, logger: context.logger).proto
        }.response
    }

    func addDomain(_ request: Pixecom_Orders_V1_AddDomainRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Domain {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let domain = try violations.check { try DomainStore.hostName(request.domain) }
        let claim = try violations.check { try self.claim(OrderMethods.addDomain, request, context) }
        try violations.throwIfAny()
        guard let domain, let claim else { throw RPCError(.internal, "domain validation left a field unset") }
        return try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            try await DomainStore.add(domain, sellerID: sellerID, on: connection, logger: context.logger)
        }.response
    }

    func verifyDomain(_ request: Pixecom_Orders_V1_VerifyDomainRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Domain {
        let sellerID = try await self.seller(context)
        let domain = try DomainStore.hostName(request.domain)
        return try await self.domains.verify(domain, sellerID: sellerID, logger: context.logger)
    }

    func listDomains(_ request: Pixecom_Orders_V1_ListDomainsRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_ListDomainsResponse
    {
        let sellerID = try await self.seller(context)
        var response = Pixecom_Orders_V1_ListDomainsResponse()
        response.domains = try await self.domains.list(sellerID: sellerID, logger: context.logger)
        return response
    }

    /// Public: no token; the page's public key names the seller. An idempotency key is required.
    func checkout(_ request: Pixecom_Orders_V1_CheckoutRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_CheckoutResult {
        var violations = FieldViolations()
        if !Self.isPublicKey(request.publicKey) {
            violations.add(field: "public_key", "must be a sell page's public key (pk_ and 24 characters)")
        }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        if case .some(.none) = key {
            violations.add(field: OrderValidation.idempotencyKeyField, "is required: one per checkout attempt, repeated on its retries")
        }
        try violations.throwIfAny()
        guard case .some(.some(let idempotencyKey)) = key else { throw RPCError(.internal, "checkout validation left a field unset") }
        let (result, replayed, sellerID) = try await self.store.checkout(request, key: idempotencyKey, logger: context.logger)
        context.logger.info(
            replayed ? "checkout.replayed" : "checkout.created",
            metadata: ["seller.id": "\(sellerID)", "order.id": "\(result.orderID)", "order.total": "\(result.total)"])
        return result
    }

    /// Public: the storefront's funnel events of the page with the public key. Each event is
    /// checked on its own (`StorefrontEvents.check`); the good ones go to StatsService in one call
    /// (no transaction is open by then), which counts each event id once, so the storefront may
    /// resend a batch whose answer it never got.
    func recordStorefrontEvents(_ request: Pixecom_Orders_V1_StorefrontEventsRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_StorefrontEventsResult
    {
        var violations = FieldViolations()
        if !Self.isPublicKey(request.publicKey) {
            violations.add(field: "public_key", "must be a sell page's public key (pk_ and 24 characters)")
        }
        if request.events.isEmpty {
            violations.add(field: "events", "must hold at least one event")
        } else if request.events.count > StorefrontEvents.maxBatch {
            violations.add(
                field: "events", "holds \(request.events.count) events; at most \(StorefrontEvents.maxBatch) are allowed per batch")
        }
        try violations.throwIfAny()
        guard let (sellerID, page) = try await self.sellPages.storefrontPage(publicKey: request.publicKey, logger: context.logger) else {
            throw RPCError.notFound("sell page")
        }
        guard page.status == .published else {
            throw RPCError(.failedPrecondition, "the sell page is \(page.status.rawValue); only a PUBLISHED page records storefront events")
        }
        let checked = StorefrontEvents.check(request.events, now: Date())
        var result = Pixecom_Orders_V1_StorefrontEventsResult()
        result.rejected = checked.rejected
        result.duplicates = checked.repeated
        if !checked.accepted.isEmpty {
            var batch = Pixecom_Stats_V1_FunnelEventBatch()
            batch.sellerID = sellerID.uuidString.lowercased()
            batch.sellPageID = page.id.uuidString.lowercased()
            batch.currency = page.currency
            batch.events = checked.accepted
            let counted = try await self.stats.recordFunnelEvents(batch)
            result.accepted = counted.applied
            result.duplicates += counted.duplicates
        }
        context.logger.info(
            "storefront.events.recorded",
            metadata: [
                "seller.id": "\(sellerID)", "sell_page.id": "\(page.id)", "events.accepted": "\(result.accepted)",
                "events.duplicates": "\(result.duplicates)", "events.rejected": "\(result.rejected.count)",
            ])
        return result
    }

    static func isPublicKey(_ key: String) -> Bool {
        key.hasPrefix("pk_") && key.utf8.count == 27
    }

    /// The call's idempotency claim, if it carries a key.
    func claim(_ method: String, _ request: some SwiftProtobuf.Message, _ context: ServerContext) throws -> IdempotencyClaim? {
        try OrderValidation.idempotencyKey(context.metadata).map { try IdempotencyClaim(key: $0, method: method, request: request) }
    }
}
