import EchoBenchmarkCore
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import PixEcomProtos

/// A grpc-swift-2 client with one HTTP/2 connection over mutual TLS, identified as `orders` and
/// verifying the server as `stats.pixecom.internal`.
public final class GRPCEchoCaller: EchoCaller {
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, any Error>
    private let request: ClientRequest<Pixecom_Testing_V1_EchoRequest>
    private let payloadSize: Int

    /// Starts the client's connection management; the connection opens on the first call.
    public init(port: Int, payloadSize: Int, certificates: CertificateFiles) throws {
        let identity = CertificateFiles.clientIdentity
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.http2.authority = CertificateFiles.serverHostname
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: [.file(path: certificates.certificatePath(for: identity), format: .pem)],
                privateKey: .file(path: certificates.privateKeyPath(for: identity), format: .pem)
            ) { tls in
                tls.trustRoots = .certificates([.file(path: certificates.caPath, format: .pem)])
                tls.serverCertificateVerification = .fullVerification
            },
            config: config
        )
        let client = GRPCClient(transport: transport)
        self.client = client
        self.connections = Task { try await client.runConnections() }
        var message = Pixecom_Testing_V1_EchoRequest()
        message.payload = Data((0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        self.request = ClientRequest(message: message)
        self.payloadSize = payloadSize
    }

    public func echo() async throws {
        let received = try await self.client.unary(
            request: self.request,
            descriptor: GRPCEchoService.echo,
            serializer: ProtobufSerializer<Pixecom_Testing_V1_EchoRequest>(),
            deserializer: ProtobufDeserializer<Pixecom_Testing_V1_EchoResponse>(),
            options: .defaults
        ) { response in
            try response.message.payload.count
        }
        guard received == self.payloadSize else {
            throw EchoPayloadMismatch(sent: self.payloadSize, received: received)
        }
    }

    public func close() async {
        self.client.beginGracefulShutdown()
        _ = try? await self.connections.value
    }
}
