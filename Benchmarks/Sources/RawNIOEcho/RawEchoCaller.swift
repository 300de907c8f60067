import EchoBenchmarkCore
import NIOCore
import NIOPosix
import NIOSSL

/// A raw NIO client with one mutual-TLS connection, sending the same prepared frame on every call.
public final class RawEchoCaller: EchoCaller {
    private let channel: any Channel
    private let handler: NIOLoopBound<RawEchoClientHandler>
    private let frame: ByteBuffer

    private init(channel: any Channel, handler: NIOLoopBound<RawEchoClientHandler>, frame: ByteBuffer) {
        self.channel = channel
        self.handler = handler
        self.frame = frame
    }

    /// Connects (the TLS handshake runs while the first calls wait); every frame carries `payloadSize` bytes.
    public static func connect(port: Int, payloadSize: Int, certificates: CertificateFiles) async throws -> RawEchoCaller {
        let tls = try RawTLS.clientContext(certificates)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: tls, serverHostname: CertificateFiles.serverHostname),
                        ByteToMessageHandler(LengthPrefixedFrameDecoder()),
                        RawEchoClientHandler(),
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        var frame = channel.allocator.buffer(capacity: 4 + payloadSize)
        frame.writeInteger(UInt32(payloadSize))
        frame.writeBytes((0..<payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: RawEchoClientHandler.self),
                eventLoop: channel.eventLoop
            )
        }.get()
        return RawEchoCaller(channel: channel, handler: handler, frame: frame)
    }

    public func echo() async throws {
        let loop = self.channel.eventLoop
        let handler = self.handler
        let frame = self.frame
        let echoed = try await withCheckedThrowingContinuation { (waiter: RawEchoClientHandler.Waiter) in
            if loop.inEventLoop {
                handler.value.send(frame, waiter: waiter)
            } else {
                loop.execute { handler.value.send(frame, waiter: waiter) }
            }
        }
        guard echoed == frame.readableBytes else {
            throw EchoPayloadMismatch(sent: frame.readableBytes - 4, received: echoed - 4)
        }
    }

    public func close() async {
        try? await self.channel.close()
    }
}
