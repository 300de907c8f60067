import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PixEcomProtos
import RPCKit
import SwiftProtobuf

/// A mutual-TLS connection to an RPCKit server that writes raw bytes and reads raw frames, for
/// protocol tests that RPCKit's own client would never let happen (a bad call id, a frame cut
/// short, an oversized frame that stalls, duplicate metadata keys).
final class RawRPCConnection: Sendable {
    private let channel: any Channel
    private let collector: ReceivedBytesCollector

    private init(channel: any Channel, collector: ReceivedBytesCollector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to 127.0.0.1:`port` presenting `identity`'s certificate (or `files`), offering
    /// ALPN `pixrpc/1` and sending `serverName` as SNI; the server's certificate is checked
    /// against the CA and, when `verifyName` is set, against `verifyName`.
    static func connect(
        port: Int,
        certificates: TestCertificates,
        identity: String = "orders",
        files: TLSFiles? = nil,
        serverName: String = "stats.pixecom.internal",
        verifyName: Bool = true
    ) async throws -> RawRPCConnection {
        let files = files ?? certificates.files(for: identity)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.caPath))
        configuration.certificateVerification = verifyName ? .fullVerification : .noHostnameVerification
        configuration.applicationProtocols = [RPCTLS.alpn]
        let context = try NIOSSLContext(configuration: configuration)
        let collector = ReceivedBytesCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawRPCConnection(channel: channel, collector: collector)
    }

    /// Writes `bytes` as they are.
    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Writes `frame` with its length prefix.
    func send(_ frame: Pixecom_Rpc_V1_Frame) async throws {
        try await self.send(Self.bytes(of: frame))
    }

    /// A frame with its 4-byte big-endian length prefix.
    static func bytes(of frame: Pixecom_Rpc_V1_Frame) throws -> [UInt8] {
        let body: [UInt8] = try frame.serializedBytes()
        return Self.lengthPrefix(body.count) + body
    }

    static func lengthPrefix(_ length: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
    }

    /// Every whole frame received so far, decoded.
    var frames: [Pixecom_Rpc_V1_Frame] {
        var buffer = self.collector.received.withLockedValue { $0 }
        var frames: [Pixecom_Rpc_V1_Frame] = []
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 4 + Int(length)
        {
            buffer.moveReaderIndex(forwardBy: 4)
            let body = buffer.readBytes(length: Int(length)) ?? []
            frames.append((try? Pixecom_Rpc_V1_Frame(serializedBytes: body)) ?? Pixecom_Rpc_V1_Frame())
        }
        return frames
    }

    /// Waits up to `timeout` until a received frame satisfies `condition`; returns it.
    func waitForFrame(
        timeout: Duration = .seconds(10),
        where condition: (Pixecom_Rpc_V1_Frame) -> Bool
    ) async throws -> Pixecom_Rpc_V1_Frame? {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let frame = self.frames.first(where: condition) { return frame }
            try await Task.sleep(for: .milliseconds(10))
        }
        return self.frames.first(where: condition)
    }

    /// The final response of call `id`, if it arrives within `timeout`.
    func waitForStatus(of id: UInt64, timeout: Duration = .seconds(10)) async throws -> Pixecom_Rpc_V1_Response? {
        try await self.waitForFrame(timeout: timeout) { $0.callID == id && $0.response.hasStatus }?.response
    }

    /// Whether the server closed the connection within `timeout`.
    func closedByServer(within timeout: Duration) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if !self.channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !self.channel.isActive
    }

    func close() async {
        try? await self.channel.close()
    }
}

extension Pixecom_Rpc_V1_Frame {
    /// A `Request` frame for call `id`.
    static func request(
        _ id: UInt64,
        method: String,
        payload: some SwiftProtobuf.Message = Pixecom_Testing_V1_EchoRequest(),
        metadata: [String: String] = [:],
        timeoutMicros: UInt64 = 10_000_000
    ) throws -> Pixecom_Rpc_V1_Frame {
        var frame = Pixecom_Rpc_V1_Frame()
        frame.callID = id
        frame.request.method = method
        frame.request.metadata = metadata
        frame.request.timeoutMicros = timeoutMicros
        frame.request.payload = try payload.serializedData()
        return frame
    }
}
