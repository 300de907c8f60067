import EchoBenchmarkCore
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// Serves Echo with grpc-swift-2 over its HTTP/2 NIO transport, mutual TLS, identified as `stats`.
public final class GRPCEchoServer: EchoServer {
    private let serving: Task<Void, any Error>
    public let port: Int

    private init(serving: Task<Void, any Error>, port: Int) {
        self.serving = serving
        self.port = port
    }

    /// Starts serving on 127.0.0.1 on a free port; returns once the port is bound.
    public static func start(certificates: CertificateFiles) async throws -> GRPCEchoServer {
        let identity = CertificateFiles.serverIdentity
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .mTLS(
                certificateChain: [.file(path: certificates.certificatePath(for: identity), format: .pem)],
                privateKey: .file(path: certificates.privateKeyPath(for: identity), format: .pem)
            ) { tls in
                tls.trustRoots = .certificates([.file(path: certificates.caPath, format: .pem)])
                tls.clientCertificateVerification = .noHostnameVerification
            }
        )
        let server = GRPCServer(transport: transport, services: [GRPCEchoService()])
        let serving = Task { try await server.serve() }
        guard let port = try await transport.listeningAddress.ipv4?.port else {
            serving.cancel()
            throw GRPCEchoServerError.notListeningOnIPv4
        }
        return GRPCEchoServer(serving: serving, port: port)
    }

    public func run() async throws {
        try await self.serving.value
    }
}

/// The gRPC server did not report an IPv4 listening address.
enum GRPCEchoServerError: Error {
    case notListeningOnIPv4
}
