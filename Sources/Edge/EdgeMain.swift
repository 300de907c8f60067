import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PixEcomProtos
import RPCKit
import ServiceKit
import ServiceLifecycle

/// The Edge: HTTPS + JSON for browsers and scripts, translated to RPC over mutual TLS. It keeps no
/// state and no business rules; see `EdgeRoutes` for what it serves.
@main
struct EdgeMain {
    static func main() async {
        let host = RuntimeHost.process(name: "edge")
        exit(await ServiceRuntime.exitStatus(logger: host.logger) { try await Self.run(host: host) })
    }

    /// Runs the edge until graceful shutdown, on the services' runtime (`ProcessServices`): the
    /// RPC clients' maintenance, the admin server and the HTTPS server, stopped in reverse (the
    /// HTTPS server drains, the admin port closes, the clients close). Throws a
    /// `ConfigurationError` for a bad setting, or whatever else stopped it.
    static func run(host: RuntimeHost) async throws {
        let logger = host.logger
        let configuration = try EdgeConfiguration(environment: host.environment)
        let clientTLS = try RPCTLS.clientContext(configuration.tls)
        func client(_ service: String, _ endpoints: [Endpoint]) -> RPCClient {
            RPCClient(configuration: .standard(endpoints: endpoints, service: service), tls: clientTLS)
        }
        let clients = ServiceClients(
            auth: client("auth", configuration.auth),
            campaign: client("campaign", configuration.campaign),
            stats: client("stats", configuration.stats),
            orders: client("orders", configuration.orders)
        )
        let ports = ReadyPorts(expected: ["http_port", "admin_port"], file: configuration.readyFile, host: host)
        let api = try Self.api(configuration: configuration, clients: clients, logger: logger, ports: ports)
        let admin = AdminServer.application(
            host: configuration.adminHost,
            port: configuration.adminPort,
            registry: host.metrics,
            readiness: [
                "auth": { try await clients.auth.requireServing() },
                "campaign": { try await clients.campaign.requireServing() },
                "stats": { try await clients.stats.requireServing() },
                "orders": { try await clients.orders.requireServing() },
            ],
            logger: logger
        ) { port in
            ports.record("admin_port", port)
        }
        try await ProcessServices.run(database: nil, host: host) {
            ProcessServices(clients: clients.all, background: [], admin: admin, front: api)
        }
    }

    /// Every route of the HTTPS API.
    static func router(configuration: EdgeConfiguration, clients: ServiceClients, apiKeys: ApiKeyExchanger? = nil) -> Router<
        EdgeRequestContext
    > {
        let router = Router(context: EdgeRequestContext.self)
        router.add(middleware: ErrorBodyMiddleware())
        EdgeRoutes(
            clients: clients,
            forwarder: RPCForwarder(
                timeout: configuration.requestTimeout, maxBodyBytes: configuration.maxBodyBytes,
                maxUploadBytes: configuration.maxUploadBytes, apiKeys: apiKeys ?? ApiKeyExchanger(auth: clients.auth))
        ).add(to: router)
        return router
    }

    /// The routes behind the edge's front: request ids, CORS, rate limits, error bodies and
    /// security headers (`EdgeResponder`).
    static func responder(configuration: EdgeConfiguration, clients: ServiceClients) -> EdgeResponder {
        // One exchanger, so a key exchanged by the rate limiter is not exchanged again by a route.
        let apiKeys = ApiKeyExchanger(auth: clients.auth)
        return EdgeResponder(
            routes: Self.router(configuration: configuration, clients: clients, apiKeys: apiKeys).buildResponder(),
            cors: CORSAllowlist(origins: Set(configuration.corsOrigins)),
            limits: RateLimiter(
                configuration: configuration.rateLimits, verifier: RuntimeContext.tokenVerifier(auth: clients.auth), apiKeys: apiKeys)
        )
    }

    /// The HTTPS server.
    static func api(configuration: EdgeConfiguration, clients: ServiceClients, logger: Logger, ports: ReadyPorts) throws -> any Service {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(configuration.httpCertificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: configuration.httpPrivateKeyPath, format: .pem))
        )
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        let connections = EdgeHTTPChannel(
            responder: Self.responder(configuration: configuration, clients: clients),
            maxBodyBytes: configuration.maxBodyBytes,
            maxUploadBytes: configuration.maxUploadBytes,
            idleTimeout: TimeAmount(configuration.idleTimeout),
            trustedProxies: configuration.trustedProxies
        )
        return try TLSChannel(connections, tlsConfiguration: tls).server(
            configuration: ServerConfiguration(address: .hostname(configuration.httpHost, port: configuration.httpPort)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                logger.info("edge.listening", metadata: ["http.port": "\(port)"])
                ports.record("http_port", port)
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
    }
}
