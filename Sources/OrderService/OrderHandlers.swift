import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// The OrderService RPC methods. Every method acts for the seller of the caller's access token.
struct OrderHandlers: Sendable {
    let verifier: TokenVerifier
    let store: OrderStore
    let webhooks: StripeWebhooks

    func register(on router: inout RPCRouter) {
        router.unary(OrderMethods.handleWebhook, Pixecom_Orders_V1_WebhookDelivery.self) { delivery, context in
            try await self.webhooks.handle(delivery, logger: context.logger)
        }
        router.unary(OrderMethods.createOrder, Pixecom_Orders_V1_CreateOrderRequest.self) { request, context in
            try await self.createOrder(request, context)
        }
        router.unary(OrderMethods.getOrder, Pixecom_Orders_V1_GetOrderRequest.self) { request, context in
            let sellerID = try await self.seller(context)
            let id = try RequestValidation.id(request.id, field: "id")
            return try await self.store.get(id, sellerID: sellerID, logger: context.logger).proto
        }
        router.unary(OrderMethods.listOrders, Pixecom_Orders_V1_ListOrdersRequest.self) { request, context in
            try await self.listOrders(request, context)
        }
        router.unary(OrderMethods.markPaid, Pixecom_Orders_V1_MarkPaidRequest.self) { request, context in
            let sellerID = try await self.seller(context)
            let id = try RequestValidation.id(request.id, field: "id")
            let order = try await self.store.markPaid(id, sellerID: sellerID, logger: context.logger)
            context.logger.info("order.paid", metadata: ["seller.id": "\(sellerID)", "order.id": "\(id)", "order.total": "\(order.total)"])
            return order.proto
        }
        router.unary(OrderMethods.refundOrder, Pixecom_Orders_V1_RefundOrderRequest.self) { request, context in
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
    }

    func createOrder(_ request: Pixecom_Orders_V1_CreateOrderRequest, _ context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
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

    func listOrders(_ request: Pixecom_Orders_V1_ListOrdersRequest, _ context: ServerContext) async throws
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
