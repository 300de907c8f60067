import Foundation
import Logging
import NIOConcurrencyHelpers
import PixEcomProtos
import RPCKit

/// A small RPC service for protocol tests: `Echo` returns its request, `Slow` sleeps until
/// cancelled (recording that it was), `Fail` throws the error it is told to.
final class EchoServer: Sendable {
    typealias Message = Pixecom_Auth_V1_RefreshRequest

    static let echo = "pixecom.test.v1.Echo/Echo"
    static let slow = "pixecom.test.v1.Echo/Slow"
    static let fail = "pixecom.test.v1.Echo/Fail"
    static let whoAmI = "pixecom.test.v1.Echo/WhoAmI"

    let server: RPCServer
    let calls = NIOLockedValueBox(0)
    let slowCancelled = NIOLockedValueBox(0)
    private let runTask: Task<Void, any Error>

    init(certificates: TestCertificates, maxFrameSize: Int = 4 * 1024 * 1024) async throws {
        var router = RPCRouter()
        let calls = self.calls
        let slowCancelled = self.slowCancelled
        router.unary(Self.echo, Message.self) { request, _ in
            calls.withLockedValue { $0 += 1 }
            return request
        }
        router.unary(Self.slow, Message.self) { request, _ in
            calls.withLockedValue { $0 += 1 }
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                slowCancelled.withLockedValue { $0 += 1 }
                throw error
            }
            return request
        }
        router.unary(Self.fail, Message.self) { request, _ -> Message in
            calls.withLockedValue { $0 += 1 }
            throw RPCError.invalidArgument(field: "refresh_token", request.refreshToken)
        }
        router.unary(Self.whoAmI, Message.self) { _, context in
            var response = Message()
            response.refreshToken = context.peerService ?? ""
            return response
        }
        var configuration = RPCServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.maxFrameSize = maxFrameSize
        var logger = Logger(label: "echo")
        logger.logLevel = .critical
        let server = try await RPCServer.bind(
            configuration: configuration,
            tls: try RPCTLS.serverContext(certificates.files(for: "stats")),
            router: router,
            logger: logger
        )
        self.server = server
        self.runTask = Task { try await server.run() }
    }

    var port: Int { self.server.localPort }

    /// A client presenting `identity`'s certificate.
    func client(_ certificates: TestCertificates, identity: String = "orders", files: TLSFiles? = nil) throws -> RPCClient {
        RPCClient(
            configuration: RPCClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: self.port)], serverService: "stats"),
            tls: try RPCTLS.clientContext(files ?? certificates.files(for: identity))
        )
    }

    func stop() async {
        self.server.beginGracefulShutdown()
        _ = try? await self.runTask.value
    }
}
