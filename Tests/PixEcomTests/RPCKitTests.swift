import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PixEcomProtos
import RPCKit
import Testing

@Suite("RPCKit over real mutual TLS")
struct RPCKitTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    @Test func unaryCallsEchoAndCarryThePeerIdentity() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates, identity: "orders")
        let response = try await client.unary(EchoServer.echo, EchoServer.Request("hello"), as: EchoServer.Response.self)
        #expect(response.text == "hello")
        #expect(server.observed.withLockedValue { $0.lastPeer } == "orders")
        await client.close()
        await server.stop()
    }

    @Test func manyConcurrentCallsShareOneConnection() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask {
                    let response = try await client.unary(
                        EchoServer.echo, EchoServer.Request("call-\(index)"), as: EchoServer.Response.self)
                    #expect(response.text == "call-\(index)")
                }
            }
            try await group.waitForAll()
        }
        #expect(server.calls == 100)
        await client.close()
        await server.stop()
    }

    @Test func statusWithFieldViolationsReachesTheCaller() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        var request = Pixecom_Testing_V1_FailRequest()
        request.code = Int32(RPCError.Code.invalidArgument.rawValue)
        request.message = "was wrong"
        request.field = "refresh_token"
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(EchoServer.fail, request, as: EchoServer.Response.self)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations == [RPCError.FieldViolation(field: "refresh_token", description: "was wrong")])
        let unknown = await #expect(throws: RPCError.self) {
            _ = try await client.unary("pixecom.testing.v1.EchoService/Nope", request, as: EchoServer.Response.self)
        }
        #expect(unknown?.code == .unimplemented)
        await client.close()
        await server.stop()
    }

    @Test func aFiftyMillisecondDeadlineEndsTheCallWithDeadlineExceeded() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        // Connect first, so that the 50 ms measure the call and not the TLS handshake.
        _ = try await client.unary(EchoServer.echo, EchoServer.Request(), as: EchoServer.Response.self)
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(EchoServer.sleep, sleep(seconds: 30), as: EchoServer.Response.self, timeout: .milliseconds(50))
        }
        let elapsed = clock.now - start
        #expect(error?.code == .deadlineExceeded)
        #expect(elapsed >= .milliseconds(50))
        // Far below the handler's 30 s, with room for a machine loaded by parallel suites.
        #expect(elapsed < .seconds(5), "the deadline should end the call promptly, took \(elapsed)")
        // The server stops the handler too (if the call reached it before its deadline: on a
        // machine loaded enough, the client may give up before it even sent the call).
        let observed = try await server.wait { $0.cancelled == $0.calls - 1 }
        #expect(observed.cancelled == observed.calls - 1)
        await client.close()
        await server.stop()
    }

    @Test func anOversizedFrameGetsResourceExhaustedWhileOtherCallsComplete() async throws {
        let server = try await EchoServer(certificates: self.certificates) { $0.maxFrameSize = 64 * 1024 }
        let client = try server.client(self.certificates)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let big = EchoServer.Request(String(repeating: "x", count: 100 * 1024))
                let error = await #expect(throws: RPCError.self) {
                    _ = try await client.unary(EchoServer.echo, big, as: EchoServer.Response.self)
                }
                #expect(error?.code == .resourceExhausted)
                #expect(error?.message.contains("maximum frame size of 65536 bytes") == true)
            }
            for index in 0..<20 {
                group.addTask {
                    let response = try await client.unary(
                        EchoServer.echo, EchoServer.Request("small-\(index)"), as: EchoServer.Response.self)
                    #expect(response.text == "small-\(index)")
                }
            }
            try await group.waitForAll()
        }
        // The connection is still healthy afterwards.
        #expect(try await client.unary(EchoServer.echo, EchoServer.Request("after"), as: EchoServer.Response.self).text == "after")
        await client.close()
        await server.stop()
    }

    @Test func aClientCertificateFromAnotherCAIsRefused() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let rogue = try TestCertificates.make()
        // Trusts the real CA (so it would accept the server) but presents a rogue certificate.
        let files = TLSFiles(
            caPath: self.certificates.path("ca.pem"),
            certificatePath: rogue.path("orders.pem"),
            privateKeyPath: rogue.path("orders.key")
        )
        try await server.expectHandshakeRefused(self.certificates, files: files)
        await server.stop()
    }

    @Test func plainTCPIsRefused() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let received = NIOLockedValueBox<[UInt8]>([])
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteCollector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        // A well-formed frame, in the clear.
        var frame = Pixecom_Rpc_V1_Frame()
        frame.callID = 1
        frame.request.method = EchoServer.echo
        let bytes: [UInt8] = try frame.serializedBytes()
        var buffer = channel.allocator.buffer(capacity: bytes.count + 4)
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        try? await channel.writeAndFlush(buffer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await channel.closeFuture.get() }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw TestSetupError("the server did not close a plain TCP connection")
            }
            try await group.next()
            group.cancelAll()
        }
        let answer = received.withLockedValue { $0 }
        // Nothing but (at most) a TLS alert record came back; no call was served.
        #expect(answer.isEmpty || answer.first == 0x15)
        #expect(server.calls == 0)
        await server.stop()
    }
}

func sleep(seconds: Int) -> Pixecom_Testing_V1_SleepRequest {
    var request = Pixecom_Testing_V1_SleepRequest()
    request.micros = UInt64(seconds) * 1_000_000
    return request
}

/// Collects every byte a raw connection receives.
final class ByteCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received: NIOLockedValueBox<[UInt8]>

    init(received: NIOLockedValueBox<[UInt8]>) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        self.received.withLockedValue { $0.append(contentsOf: buffer.readableBytesView) }
    }
}
