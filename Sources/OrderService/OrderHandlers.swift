import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// The OrderService RPC methods. Every method acts for the seller of the caller's access token.
struct OrderHandlers: OrderServiceHandling {
    let verifier: TokenVerifier
    let store: OrderStore
    let webhooks: StripeWebhooks

    // MARK: - Methods of the generated `OrderServiceHandling` without a function of their own

    func handleWebhook(_ request: Pixecom_Orders_V1_WebhookDelivery, context: ServerContext) async throws -> Pixecom_Orders_V1_WebhookResult
    {
        try await self.webhooks.handle(request, logger: context.logger)
    }

    func getOrder(_ request: Pixecom_Orders_V1_GetOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        return try await self.store.get(id, sellerID: sellerID, logger: context.logger).proto
    }

    func markPaid(_ request: Pixecom_Orders_V1_MarkPaidRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let order = try await self.store.markPaid(id, sellerID: sellerID, logger: context.logger)
        context.logger.info("order.paid", metadata: ["seller.id": "\(sellerID)", "order.id": "\(id)", "order.total": "\(order.total)"])
        return order.proto
    }

    func refundOrder(_ request: Pixecom_Orders_V1_RefundOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let amount = try OrderValidation.refundAmount(request.amount)
        let order = try await self.store.refund(id, amount: amount, sellerID: sellerID, logger: context.logger)
        context.logger.info(
            "order.refunded",
            metadata: [
                "seller.id": "\(sellerID)", "order.id": "\(id)", "refund.amount": "\(amount)", "order.refunded": "\(order.refunded)",
            ]
        )
        return order.proto
    }

    func createOrder(_ request: Pixecom_Orders_V1_CreateOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let idempotencyKey = try OrderValidation.idempotencyKey(context.metadata)
        let newOrder = try OrderValidation.newOrder(request)
        let (order, replayed) = try await self.store.create(
            newOrder, sellerID: sellerID, idempotencyKey: idempotencyKey, logger: context.logger)
        context.logger.info(
            replayed ? "order.create.replayed" : "order.created",
            metadata: ["seller.id": "\(sellerID)", "order.id": "\(order.id)", "order.total": "\(order.total)"]
        )
        return order.proto
    }

    func listOrders(_ request: Pixecom_Orders_V1_ListOrdersRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_ListOrdersResponse
    {
        let sellerID = try await self.seller(context)
        let pageSize = try RequestValidation.pageSize(request.pageSize)
        let cursor = try PageToken.decode(request.pageToken)
        let page = try await self.store.list(sellerID: sellerID, after: cursor, limit: pageSize, logger: context.logger)
        var response = Pixecom_Orders_V1_ListOrdersResponse()
        response.orders = page.orders.map(\.proto)
        if page.hasMore, let last = page.orders.last {
            response.nextPageToken = PageToken.encode(createdAt: last.createdAt, id: last.id)
        }
        return response
    }

    /// The seller of the caller's verified access token.
    private func seller(_ context: ServerContext) async throws -> UUID {
        let claims = try await context.authenticate(with: self.verifier)
        return try claims.sellerUUID()
    }
}
