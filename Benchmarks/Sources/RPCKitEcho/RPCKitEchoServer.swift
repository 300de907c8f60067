import EchoBenchmarkCore
import Logging
import PixEcomProtos
import RPCKit

/// Serves `pixecom.testing.v1.EchoService/Echo` with RPCKit over mutual TLS.
public final class RPCKitEchoServer: EchoServer {
    /// The method both sides use.
    static let method = "pixecom.testing.v1.EchoService/Echo"

    private let server: RPCServer

    public var port: Int { self.server.localPort }

    private init(server: RPCServer) {
        self.server = server
    }

    /// Binds 127.0.0.1 on a free port, identified as `stats`.
    ///
    /// - Parameter maxConcurrentCalls: calls served at once on the connection; must be at least the
    ///   highest number of calls in flight, or RPCKit rejects the excess with RESOURCE_EXHAUSTED.
    public static func bind(certificates: CertificateFiles, maxConcurrentCalls: Int) async throws -> RPCKitEchoServer {
        var router = RPCRouter()
        router.unary(Self.method, Pixecom_Testing_V1_EchoRequest.self) { request, _ in
            var response = Pixecom_Testing_V1_EchoResponse()
            response.payload = request.payload
            return response
        }
        var configuration = RPCServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.maxConcurrentCallsPerConnection = maxConcurrentCalls
        let identity = CertificateFiles.serverIdentity
        let tls = try RPCTLS.serverContext(
            TLSFiles(
                caPath: certificates.caPath,
                certificatePath: certificates.certificatePath(for: identity),
                privateKeyPath: certificates.privateKeyPath(for: identity)
            )
        )
        let server = try await RPCServer.bind(
            configuration: configuration,
            tls: tls,
            router: router,
            logger: BenchmarkLogger.make(label: "rpckit-echo-server")
        )
        return RPCKitEchoServer(server: server)
    }

    public func run() async throws {
        try await self.server.run()
    }
}
