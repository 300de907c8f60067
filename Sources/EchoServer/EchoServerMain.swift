import EchoService
import Foundation
import Logging
import RPCKit
import ServiceLifecycle

/// A standalone `pixecom.testing.v1.EchoService` server, for tests that need replicas in their own
/// processes (killed with SIGKILL, say) and for trying the protocol by hand.
///
/// Environment:
/// - PIXECOM_ECHO_CERTIFICATE_DIR (required): a folder made by scripts/make-certs.sh; the server
///   presents `stats.pem` (service identity `stats`) and trusts `ca.pem`.
/// - PIXECOM_ECHO_PORT: the port on 127.0.0.1; default 0, a free one.
/// - PIXECOM_READY_FILE: once listening, `{"rpc_port": N}` is written there.
/// SIGTERM or SIGINT drain the server (GOAWAY, in-flight calls finish, 5 s drain timeout) and
/// end it with status 0.
///
/// Signals are handled by swift-service-lifecycle's `ServiceGroup`, as in every PixEcom service.
/// An earlier version installed its own `DispatchSource` handler from inside `main()`: that
/// closure inherited the main actor's isolation, so when Dispatch ran it on one of its own
/// threads the runtime's isolation check stopped the process with SIGILL.
@main
struct EchoServerMain {
    static func main() async {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["PIXECOM_ECHO_CERTIFICATE_DIR"], !directory.isEmpty else {
            fail("PIXECOM_ECHO_CERTIFICATE_DIR must name a certificate folder (scripts/make-certs.sh)")
        }
        guard let port = Int(environment["PIXECOM_ECHO_PORT"] ?? "0"), (0...65535).contains(port) else {
            fail("PIXECOM_ECHO_PORT must be a port number (0-65535)")
        }
        var logger = Logger(label: "echo-server")
        logger.logLevel = .warning
        do {
            var router = RPCRouter()
            EchoService().register(on: &router)
            let files = TLSFiles(
                caPath: "\(directory)/ca.pem", certificatePath: "\(directory)/stats.pem", privateKeyPath: "\(directory)/stats.key")
            var configuration = RPCServerConfiguration(host: "127.0.0.1", port: port)
            configuration.drainTimeout = .seconds(5)
            let server = try await RPCServer.bind(
                configuration: configuration,
                tls: try RPCTLS.serverContext(files),
                router: router,
                logger: logger
            )
            // The ready file is written by the service once the group runs: the group traps SIGTERM
            // and SIGINT before it starts its services, so a signal sent as soon as the file
            // appears drains the server instead of killing it with the default action.
            let readyFile = environment["PIXECOM_READY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            let group = ServiceGroup(
                configuration: .init(
                    services: [EchoServerService(server: server, readyFile: readyFile)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            fail("\(error)")
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("EchoServer: \(message)\n".utf8))
        exit(1)
    }
}

/// The RPC server as a `Service`: serves until graceful shutdown, then drains.
private struct EchoServerService: Service {
    let server: RPCServer
    let readyFile: String?

    func run() async throws {
        if let readyFile {
            try Data("{\"rpc_port\": \(self.server.localPort)}\n".utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic)
        }
        try await withGracefulShutdownHandler {
            try await self.server.run()
        } onGracefulShutdown: {
            self.server.beginGracefulShutdown()
        }
    }
}
