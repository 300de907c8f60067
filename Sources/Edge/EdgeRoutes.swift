import Hummingbird
import RPCKit

/// The RPC channels of the Edge, one per service.
struct ServiceClients: Sendable {
    let auth: RPCClient
    let campaign: RPCClient
    let stats: RPCClient
    let orders: RPCClient

    var all: [RPCClient] { [self.auth, self.campaign, self.stats, self.orders] }
}

/// Every public route of the Edge: resource-style HTTP over the services' RPC methods. The
/// per-service tables live in `EdgeRoutes+<Service>.swift`; docs/API.md lists them.
struct EdgeRoutes: Sendable {
    let clients: ServiceClients
    let forwarder: RPCForwarder

    func add(to router: Router<EdgeRequestContext>) {
        self.addAuth(to: router)
        self.addLogout(to: router)
        self.addCampaign(to: router)
        self.addStats(to: router)
        self.addOrders(to: router)
        self.addMembers(to: router)
        self.addApiKeys(to: router)
        self.addWebhooks(to: router)
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data))
            )
        }
    }
}
