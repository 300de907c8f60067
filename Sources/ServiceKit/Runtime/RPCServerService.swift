import Logging
import NIOSSL
import RPCKit
import ServiceLifecycle

/// The RPC server as a `Service`: binds when it starts (so a test's port 0 is reported, and a
/// server whose group never ran holds no socket), serves until graceful shutdown, then drains:
/// GOAWAY, calls in flight finish, connections close.
struct RPCServerService: Service {
    let configuration: RPCServerConfiguration
    let tls: NIOSSLContext
    let router: RPCRouter
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    func run() async throws {
        let server = try await RPCServer.bind(
            configuration: self.configuration,
            tls: self.tls,
            router: self.router,
            logger: self.logger
        )
        self.onListening(server.localPort)
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
