import Dispatch
import EchoService
import Foundation
import Logging
import RPCKit

/// A standalone `pixecom.testing.v1.EchoService` server, for tests that need replicas in their own
/// processes (killed with SIGKILL, say) and for trying the protocol by hand.
///
/// Usage: EchoServer <certificate-dir> [<ready-file>]
///   Serves with `<certificate-dir>/stats.pem` (service identity `stats`) on 127.0.0.1 and a free
///   port (PIXECOM_ECHO_PORT to choose one), writes the port to <ready-file> once listening, and
///   drains on SIGTERM or SIGINT.
@main
struct EchoServerMain {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        guard let directory = arguments.first else {
            FileHandle.standardError.write(Data("usage: EchoServer <certificate-dir> [<ready-file>]\n".utf8))
            exit(2)
        }
        let readyFile = arguments.dropFirst().first
        let environment = ProcessInfo.processInfo.environment
        guard let port = Int(environment["PIXECOM_ECHO_PORT"] ?? "0"), (0...65535).contains(port) else {
            FileHandle.standardError.write(Data("PIXECOM_ECHO_PORT must be a port number (0-65535)\n".utf8))
            exit(2)
        }
        var logger = Logger(label: "echo-server")
        logger.logLevel = .warning
        do {
            var router = RPCRouter()
            EchoService().register(on: &router)
            let files = TLSFiles(caPath: "\(directory)/ca.pem", certificatePath: "\(directory)/stats.pem", privateKeyPath: "\(directory)/stats.key")
            var configuration = RPCServerConfiguration(host: "127.0.0.1", port: port)
            configuration.drainTimeout = .seconds(5)
            let server = try await RPCServer.bind(
                configuration: configuration,
                tls: try RPCTLS.serverContext(files),
                router: router,
                logger: logger
            )
            let signals = [SIGTERM, SIGINT].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number)
                source.setEventHandler { server.beginGracefulShutdown() }
                source.resume()
                return source
            }
            if let readyFile {
                try Data("\(server.localPort)\n".utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic)
            }
            try await server.run()
            signals.forEach { $0.cancel() }
        } catch {
            FileHandle.standardError.write(Data("EchoServer: \(error)\n".utf8))
            exit(1)
        }
    }
}
