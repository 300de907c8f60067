import Hummingbird
import RPCKit

/// The RPC channels of the Edge, one per service.
struct ServiceClients: Sendable {
    let auth: RPCClient
    let campaign: RPCClient
    let stats: RPCClient
    let orders: RPCClient

    var all: [RPCClient] { [self.auth, self.campaign, self.stats, self.orders] }

    func client(for service: EdgeRoute.Service) -> RPCClient {
        switch service {
        case .auth: self.auth
        case .campaign: self.campaign
        case .stats: self.stats
        case .orders: self.orders
        }
    }
}

/// Every public route of the Edge: resource-style HTTP over the services' RPC methods.
///
/// Most routes are generated from the methods' HTTP bindings (`EdgeRouteTable`, see `EdgeRoute`);
/// the few methods marked `manual_route` in their .proto are served by hand-written routes
/// (`EdgeRoutes+Auth.swift`: cookies; `EdgeRoutes+Webhooks.swift`: raw signed bodies;
/// `EdgeRoutes+Assets.swift`: file uploads; `EdgeRoutes+Exports.swift`: CSV downloads). docs/API.md
/// lists them all.
struct EdgeRoutes: Sendable {
    let clients: ServiceClients
    let forwarder: RPCForwarder

    func add(to router: Router<EdgeRequestContext>) {
        let forwarder = self.forwarder
        // ContractGen names each path segment alike in every route (the router keeps one name per
        // position), so the table registers as it is.
        for route in EdgeRouteTable.all {
            let client = self.clients.client(for: route.service)
            router.on(RouterPath(route.routerPath), method: route.verb) { request, context in
                try await route.respond(to: request, context: context, forwarder: forwarder, client: client)
            }
        }
        self.addAuth(to: router)
        self.addWebhooks(to: router)
        self.addAssets(to: router)
        self.addExports(to: router)
        self.addImports(to: router)
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data))
            )
        }
    }
}
