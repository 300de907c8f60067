import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationCompat
import PixEcomProtos
import RPCKit
import ServiceKit

extension EdgeRoutes {
    /// Payment-provider webhooks: the raw body and the signature header go to OrderService
    /// unchanged (the signature covers the exact bytes, so the edge neither parses nor re-encodes
    /// them); OrderService checks the signature and answers. Written by hand for that reason
    /// (`manual_route` of `HandleWebhook` in orders.proto): a generated route decodes a JSON body.
    func addWebhooks(to router: Router<EdgeRequestContext>) {
        let orders = self.clients.orders
        let forwarder = self.forwarder
        let stripeSignature = HTTPField.Name("Stripe-Signature")!

        router.post("/v1/webhooks/stripe") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: forwarder.maxBodyBytes)
            var delivery = Pixecom_Orders_V1_WebhookDelivery()
            delivery.provider = "stripe"
            if let signature = request.headers[stripeSignature] {
                delivery.headers["stripe-signature"] = signature
            }
            delivery.body = Data(buffer: body)
            let result = try await forwarder.call(
                orders, OrderMethods.handleWebhook, delivery, as: Pixecom_Orders_V1_WebhookResult.self, http: request, context: context)
            return try forwarder.json(result)
        }
    }
}
