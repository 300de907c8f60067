import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit
import SwiftProtobuf

/// The OrderService RPC methods. Every method acts for the seller of the caller's access token;
/// every mutating one runs at most once per `idempotency-key` (`OrderStore.idempotent`).
struct OrderHandlers: OrderServiceHandling {
    let verifier: TokenVerifier
    let store: OrderStore
    let sellPages: SellPageStore
    let domains: DomainStore
    let webhooks: StripeWebhooks
    /// Where the storefront's funnel events are counted.
    let stats: StatsServiceClient

    func handleWebhook(_ request: Pixecom_Orders_V1_WebhookDelivery, context: ServerContext) async throws -> Pixecom_Orders_V1_WebhookResult
    {
        try await self.webhooks.receive(request, logger: context.logger)
    }

    func getOrder(_ request: Pixecom_Orders_V1_GetOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        return try await self.store.get(id, sellerID: sellerID, logger: context.logger).proto
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

    func createOrder(_ request: Pixecom_Orders_V1_CreateOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        let key = try OrderValidation.idempotencyKey(context.metadata)
        let newOrder = try OrderValidation.newOrder(request)
        let claim = key.map { IdempotencyClaim(key: $0, method: OrderMethods.createOrder, fingerprint: newOrder.fingerprint) }
        let (order, replayed) = try await self.store.create(newOrder, sellerID: sellerID, claim: claim, logger: context.logger)
        context.logger.info(
            replayed ? "order.create.replayed" : "order.created",
            metadata: ["seller.id": "\(sellerID)", "order.id": "\(order.id)", "order.total": "\(order.total)"]
        )
        return order
    }

    // MARK: - Payment transactions and status changes

    func markPaid(_ request: Pixecom_Orders_V1_MarkPaidRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.markPaid, request, id: request.id, context: context) { _ in
            .captureRemaining(reference: try OrderValidation.reference(request.reference))
        }
    }

    func authorizePayment(_ request: Pixecom_Orders_V1_AuthorizePaymentRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Order
    {
        try await self.transaction(OrderMethods.authorizePayment, request, id: request.id, context: context) { violations in
            let amount = try violations.check { try OrderValidation.amount(request.amount) }
            let reference = try violations.check { try OrderValidation.reference(request.reference) }
            guard let amount, let reference else { return nil }
            return .authorize(amount: amount, reference: reference)
        }
    }

    func capturePayment(_ request: Pixecom_Orders_V1_CapturePaymentRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Order
    {
        try await self.transaction(OrderMethods.capturePayment, request, id: request.id, context: context) { violations in
            let amount = try violations.check { try OrderValidation.amount(request.amount) }
            let reference = try violations.check { try OrderValidation.reference(request.reference) }
            guard let amount, let reference else { return nil }
            return .capture(amount: amount, reference: reference)
        }
    }

    func voidPayment(_ request: Pixecom_Orders_V1_VoidPaymentRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.voidPayment, request, id: request.id, context: context) { _ in
            .void(reference: try OrderValidation.reference(request.reference))
        }
    }

    func refundOrder(_ request: Pixecom_Orders_V1_RefundOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.refundOrder, request, id: request.id, context: context) { violations in
            let amount = try violations.check { try OrderValidation.amount(request.amount) }
            let reference = try violations.check { try OrderValidation.reference(request.reference) }
            let note = try violations.check { try OrderValidation.note(request.reason) }
            guard let amount, let reference, let note else { return nil }
            return .refund(amount: amount, reference: reference, note: note)
        }
    }

    func recordChargeback(_ request: Pixecom_Orders_V1_RecordChargebackRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Order
    {
        try await self.transaction(OrderMethods.recordChargeback, request, id: request.id, context: context) { violations in
            let amount = try violations.check { try OrderValidation.amount(request.amount) }
            let reference = try violations.check { try OrderValidation.reference(request.reference, required: true) }
            guard let amount, let reference else { return nil }
            return .chargeback(amount: amount, reference: reference)
        }
    }

    func reverseChargeback(_ request: Pixecom_Orders_V1_ReverseChargebackRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Order
    {
        try await self.transaction(OrderMethods.reverseChargeback, request, id: request.id, context: context) { _ in
            .reverseChargeback(reference: try OrderValidation.reference(request.reference, required: true))
        }
    }

    func cancelOrder(_ request: Pixecom_Orders_V1_CancelOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.cancelOrder, request, id: request.id, context: context) { _ in
            .cancel(reason: try OrderValidation.cancelReason(request.reason).rawValue)
        }
    }

    func closeOrder(_ request: Pixecom_Orders_V1_CloseOrderRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.closeOrder, request, id: request.id, context: context) { _ in .close }
    }

    /// One transaction of order `id`: the request validated (every bad field reported together,
    /// before anything is read), then recorded at most once per idempotency key. `validate`
    /// records its fields' problems in the violations it gets and then returns nil, or throws
    /// the problem of its one field.
    func transaction(
        _ method: String,
        _ request: some SwiftProtobuf.Message,
        id: String,
        context: ServerContext,
        _ validate: (inout FieldViolations) throws -> OrderHistory.Request?
    ) async throws -> Pixecom_Orders_V1_Order {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let orderID = try violations.check { try RequestValidation.id(id, field: "id") }
        var fields = FieldViolations()
        let transaction = try violations.check { try validate(&fields) }
        for violation in fields.violations { violations.add(field: violation.field, violation.description) }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        try violations.throwIfAny()
        guard let orderID, let transaction = transaction.flatMap({ $0 }) else {
            throw RPCError(.internal, "order validation left a field unset")
        }
        let claim = try key.flatMap { $0 }.map { try IdempotencyClaim(key: $0, method: method, request: request) }
        let (order, replayed) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            try await OrderStore.record(transaction, orderID: orderID, sellerID: sellerID, on: connection, logger: context.logger).proto
        }
        if replayed {
            context.logger.info(
                "order.transaction.replayed",
                metadata: ["seller.id": "\(sellerID)", "order.id": "\(orderID)", "rpc.method": "\(method)"])
        }
        return order
    }

    /// The seller of the caller's verified access token.
    func seller(_ context: ServerContext) async throws -> UUID {
        let claims = try await context.authenticate(with: self.verifier)
        return try claims.sellerUUID()
    }
}
