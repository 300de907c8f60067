import EchoBenchmarkCore
import NIOCore
import NIOPosix
import NIOSSL

/// The ceiling: a SwiftNIO + NIOSSL server that echoes length-prefixed frames over mutual TLS,
/// with no protobuf envelope and no RPC machinery.
public final class RawEchoServer: EchoServer {
    private let listener: any Channel
    public let port: Int

    private init(listener: any Channel, port: Int) {
        self.listener = listener
        self.port = port
    }

    /// Binds 127.0.0.1 on a free port.
    public static func bind(certificates: CertificateFiles) async throws -> RawEchoServer {
        let tls = try RawTLS.serverContext(certificates)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: tls),
                        ByteToMessageHandler(LengthPrefixedFrameDecoder()),
                        RawEchoServerHandler(),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawEchoServer(listener: listener, port: listener.localAddress?.port ?? 0)
    }

    public func run() async throws {
        try await self.listener.closeFuture.get()
    }
}
