import EchoBenchmarkCore
import Foundation
import PixEcomProtos
import RPCKit

/// An RPCKit client with one connection to the Echo server, identified as `orders`.
public final class RPCKitEchoCaller: EchoCaller {
    private let client: RPCClient
    private let request: Pixecom_Testing_V1_EchoRequest
    private let payloadSize: Int

    /// The connection opens on the first call. The client's `run()` (health checks, DNS) is not
    /// started: calls work without it.
    public init(port: Int, payloadSize: Int, certificates: CertificateFiles) throws {
        let identity = CertificateFiles.clientIdentity
        let tls = try RPCTLS.clientContext(
            TLSFiles(
                caPath: certificates.caPath,
                certificatePath: certificates.certificatePath(for: identity),
                privateKeyPath: certificates.privateKeyPath(for: identity)
            )
        )
        var configuration = RPCClientConfiguration(
            endpoints: [Endpoint(host: "127.0.0.1", port: port)],
            serverService: CertificateFiles.serverIdentity
        )
        // Far above any latency measured here, so that a loaded machine shows up as slow calls
        // rather than DEADLINE_EXCEEDED failures.
        configuration.defaultTimeout = .seconds(120)
        self.client = RPCClient(configuration: configuration, tls: tls)
        var request = Pixecom_Testing_V1_EchoRequest()
        request.payload = Data((0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        self.request = request
        self.payloadSize = payloadSize
    }

    public func echo() async throws {
        let response = try await self.client.unary(
            RPCKitEchoServer.method,
            self.request,
            as: Pixecom_Testing_V1_EchoResponse.self
        )
        guard response.payload.count == self.payloadSize else {
            throw EchoPayloadMismatch(sent: self.payloadSize, received: response.payload.count)
        }
    }

    public func close() async {
        await self.client.close()
    }
}
