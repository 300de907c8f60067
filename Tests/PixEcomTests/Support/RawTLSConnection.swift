import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A TLS connection that sends raw bytes and collects whatever comes back, for tests of the
/// HTTP/1 protocol itself (pipelining, malformed requests, connection handling) where an HTTP
/// client library would hide what happens on the wire.
final class RawTLSConnection: Sendable {
    private let channel: any Channel
    private let collector: ReceivedBytesCollector

    private init(channel: any Channel, collector: ReceivedBytesCollector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to 127.0.0.1:`port` with TLS, trusting `caPath`, verifying the name `localhost`.
    static func connect(port: Int, caPath: String) async throws -> RawTLSConnection {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        let context = try NIOSSLContext(configuration: tls)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = ReceivedBytesCollector()
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawTLSConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Everything received so far, as text.
    var received: String {
        self.collector.received.withLockedValue { String(buffer: $0) }
    }

    /// Waits until the text received contains `count` HTTP/1.1 status lines, or `timeout` passes.
    func waitForResponses(_ count: Int, timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = self.received
            if text.components(separatedBy: "HTTP/1.1 ").count - 1 >= count { return text }
            try await Task.sleep(for: .milliseconds(20))
        }
        return self.received
    }

    /// Whether the server closed the connection within `timeout`.
    func closedByServer(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !self.channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !self.channel.isActive
    }

    /// Ends the sending side: TLS close_notify; the connection stays open for reading.
    func closeOutput() async throws {
        try await self.channel.close(mode: .output)
    }

    func close() async {
        try? await self.channel.close()
    }
}
