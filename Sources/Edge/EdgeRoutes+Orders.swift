import Hummingbird
import PixEcomProtos
import RPCKit
import ServiceKit

extension EdgeRoutes {
    /// Orders: create (with an optional `Idempotency-Key` header), get, list, pay, refund.
    func addOrders(to router: Router<EdgeRequestContext>) {
        typealias Order = Pixecom_Orders_V1_Order
        let orders = self.clients.orders
        let forwarder = self.forwarder

        router.post("/v1/orders") { request, context in
            try await forwarder.forward(
                orders, OrderMethods.createOrder, Pixecom_Orders_V1_CreateOrderRequest.self, request, context: context, as: Order.self)
        }
        router.get("/v1/orders") { request, context in
            var message = Pixecom_Orders_V1_ListOrdersRequest()
            message.pageSize = try request.queryInt32("pageSize")
            message.pageToken = request.query("pageToken")
            let reply = try await forwarder.call(
                orders, OrderMethods.listOrders, message, as: Pixecom_Orders_V1_ListOrdersResponse.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.get("/v1/orders/:id") { request, context in
            var message = Pixecom_Orders_V1_GetOrderRequest()
            message.id = try context.parameters.require("id")
            let reply = try await forwarder.call(orders, OrderMethods.getOrder, message, as: Order.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.post("/v1/orders/:id/pay") { request, context in
            let id = try context.parameters.require("id")
            return try await forwarder.forward(
                orders, OrderMethods.markPaid, Pixecom_Orders_V1_MarkPaidRequest.self, request, context: context, as: Order.self
            ) { message in
                try Self.pathID(id, into: &message.id)
            }
        }
        router.post("/v1/orders/:id/refund") { request, context in
            let id = try context.parameters.require("id")
            return try await forwarder.forward(
                orders, OrderMethods.refundOrder, Pixecom_Orders_V1_RefundOrderRequest.self, request, context: context, as: Order.self
            ) { message in
                try Self.pathID(id, into: &message.id)
            }
        }
    }
}
