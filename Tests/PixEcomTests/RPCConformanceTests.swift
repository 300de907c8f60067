import EchoService
import Foundation
import NIOCore
import PixEcomProtos
import SwiftProtobuf
import Testing

@testable import RPCCore
@testable import RPCKit

/// The decisions of docs/PROTOCOL.md that a second implementer found unstated or contradicted by
/// the server (issue 12), each checked on the wire: statuses with codes outside the canonical set,
/// when an oversized frame is answered, frames naming call ids a client may not use, certificate
/// usage, SNI, envelope strictness, refusals while draining, pings with a call id, and what the
/// server saw of a call (`EchoService/Inspect`).
@Suite("RPC protocol decisions (PROTOCOL.md), on the wire")
struct RPCConformanceTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    // MARK: - Status codes outside 0-16 (§4.7)

    /// A handler passing on a number outside the canonical set (the test service's `Fail` takes
    /// any int32) ends the call with UNKNOWN and its message: `RPCError.Code` has only the
    /// canonical codes, so no status can carry another (one used to trap while it was encoded,
    /// taking every connection down with the process).
    @Test(arguments: [-1, Int32.min, 17, 100, Int32.max] as [Int32])
    func aStatusCodeOutsideTheCanonicalSetIsSentAsUnknown(code: Int32) async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        var request = Pixecom_Testing_V1_FailRequest()
        request.code = code
        request.message = "code \(code)"
        request.field = "code"
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(EchoServer.fail, request, as: EchoServer.Response.self)
        }
        #expect(error?.code == .unknown)
        #expect(error?.message == "code \(code)")
        #expect(error?.fieldViolations == [RPCError.FieldViolation(field: "code", description: "code \(code)")])
        // What went on the wire, read by a generic protobuf decoder: code 2.
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        try await raw.send(.request(1, method: EchoServer.fail, payload: request))
        let status = try #require(try await raw.waitForStatus(of: 1)).status
        #expect(status.code == .unknown)
        // The server is still there, on the same connections.
        #expect(try await client.unary(EchoServer.echo, EchoServer.Request("alive"), as: EchoServer.Response.self).text == "alive")
        try await raw.send(.request(3, method: EchoServer.echo, payload: EchoServer.Request("raw")))
        #expect(try await raw.waitForStatus(of: 3)?.status.code == .ok)
        await raw.close()
        await client.close()
        await server.stop()
    }

    /// A client reads any number in `Status.code` (a negative int32 is a 10-byte varint) as
    /// UNKNOWN; the server's own encoder writes every canonical code as protobuf encodes it, and
    /// the conversions to and from the generated enum keep the number.
    @Test func statusCodesOfAnyInt32ValueRoundTripThroughTheCodecs() throws {
        for code in [-1, -2, Int32.min, 17, 1000, Int32.max] as [Int32] {
            var status = Pixecom_Rpc_V1_Status()
            status.code = Pixecom_Rpc_V1_Code(rawValue: Int(code))!
            status.message = "m"
            let bytes: [UInt8] = try status.serializedBytes()
            let decoded = try bytes.withUnsafeBytes { bytes in
                var reader = ProtobufReader(bytes)
                return try RPCStatus.decode(&reader)
            }
            #expect(decoded.code == .unknown, "code \(code)")
            #expect(decoded.message == "m")
            #expect(RPCError.Code(Pixecom_Rpc_V1_Code(rawValue: Int(code))!) == .unknown, "code \(code)")
        }
        for code in RPCError.Code.allCases {
            let written = RPCStatus(code: code, message: "m", fieldViolations: [], retryDelayMillis: nil)
            var buffer = ByteBuffer()
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: written.encodedSize) { memory in
                var writer = ProtobufWriter(memory)
                written.write(to: &writer)
                return writer.offset
            }
            #expect(buffer.readableBytes == written.encodedSize)
            let generic = try Pixecom_Rpc_V1_Status(serializedBytes: Array(buffer.readableBytesView))
            #expect(generic.code.rawValue == code.rawValue, "\(code.name) must be encoded as protobuf encodes an int32")
            #expect(generic.code == Pixecom_Rpc_V1_Code(code))
            #expect(RPCError.Code(generic.code) == code)
        }
    }

    /// Frames with any value in every field a peer controls (call ids, methods, metadata,
    /// timeouts up to 2^64-1 µs, windows, any int32 status code) sent to a real server over
    /// several connections: whatever each connection's fate, the server keeps serving.
    @Test func framesWithAnyFieldValuesNeverBringTheServerDown() async throws {
        let server = try await EchoServer(certificates: self.certificates) { $0.maxFrameSize = 4096 }
        var random = SeededRandom(seed: 12)
        for _ in 0..<20 {
            let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
            var bytes: [UInt8] = []
            for _ in 0..<200 {
                var buffer = ByteBuffer()
                var frame = RPCFuzzTests.validFrame(&random)
                if case .request(let id, var request) = frame, Bool.random(using: &random) {
                    // Often a real method, so that handlers run with the random metadata and timeouts.
                    request.method = [EchoServer.echo, EchoServer.fail, EchoService.inspect].randomElement(using: &random)!
                    frame = .request(callID: id, request)
                }
                frame.write(to: &buffer)
                bytes += buffer.readableBytesView
            }
            try? await raw.send(bytes)
            _ = await raw.closedByServer(within: .milliseconds(200))
            await raw.close()
        }
        let client = try server.client(self.certificates)
        #expect(
            try await client.unary(EchoServer.echo, EchoServer.Request("still here"), as: EchoServer.Response.self).text == "still here")
        await client.close()
        await server.stop()
    }

    // MARK: - Oversized and malformed frames (§2)

    /// The answer to an oversized frame is sent once its call id is known (here 2 body bytes),
    /// without waiting for more of the body; the rest is skipped and framing holds.
    @Test func anOversizedFrameIsAnsweredAsSoonAsItsCallIDIsKnown() async throws {
        let server = try await EchoServer(certificates: self.certificates) { $0.maxFrameSize = 1024 }
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        let length = 4096
        try await raw.send(RawRPCConnection.lengthPrefix(length) + [0x08, 0x05])
        let status = try #require(try await raw.waitForStatus(of: 5), "no answer before the rest of the body").status
        #expect(status.code == .resourceExhausted)
        #expect(status.message == "frame of 4096 bytes exceeds the maximum frame size of 1024 bytes")
        // The rest of the oversized body, then a normal call: framing was kept.
        try await raw.send([UInt8](repeating: 0x11, count: length - 2))
        try await raw.send(.request(7, method: EchoServer.echo, payload: EchoServer.Request("after")))
        #expect(try await raw.waitForStatus(of: 7)?.status.code == .ok)
        await raw.close()
        await server.stop()
    }

    @Test func theFrameDecoderDecidesOnTheCallIDWithTheFewestBytes() {
        var decoder = FrameDecoder<ByteBuffer>(maxFrameSize: 16)
        func feed(_ bytes: [UInt8]) -> InboundFrame<ByteBuffer>? {
            var buffer = ByteBuffer(bytes: RawRPCConnection.lengthPrefix(100) + bytes)
            return decoder.next(&buffer)
        }
        // Only the length: nothing to decide on yet.
        #expect(feed([]).isNone)
        // The first body byte is not the call id's tag: no call id, decided at once.
        guard case .oversized(nil, 100, 16)? = feed([0x12]) else { Issue.record("no call id"); return }
        decoder = FrameDecoder<ByteBuffer>(maxFrameSize: 16)
        // The tag, and a varint not finished yet.
        #expect(feed([0x08]).isNone)
        decoder = FrameDecoder<ByteBuffer>(maxFrameSize: 16)
        #expect(feed([0x08, 0x96]).isNone)
        decoder = FrameDecoder<ByteBuffer>(maxFrameSize: 16)
        guard case .oversized(.some(150), 100, 16)? = feed([0x08, 0x96, 0x01]) else { Issue.record("call id 150"); return }
        decoder = FrameDecoder<ByteBuffer>(maxFrameSize: 16)
        // A varint that does not end within 10 bytes: no call id.
        guard case .oversized(nil, 100, 16)? = feed([0x08] + [UInt8](repeating: 0xFF, count: 10)) else {
            Issue.record("unterminated varint")
            return
        }
    }

    /// Call id 0 and even ids are not a client's: a broken frame naming one closes the connection
    /// with a protocol violation, as a `Request` naming one does, instead of being answered on it.
    @Test(arguments: [(0 as UInt8, true), (2, true), (0, false), (4, false)])
    func aBrokenFrameNamingAnIDAClientMayNotUseClosesTheConnection(id: UInt8, oversized: Bool) async throws {
        let server = try await EchoServer(certificates: self.certificates) { $0.maxFrameSize = 1024 }
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        if oversized {
            try await raw.send(RawRPCConnection.lengthPrefix(2048) + [0x08, id])
        } else {
            // call_id, then a truncated length-delimited field.
            try await raw.send(RawRPCConnection.lengthPrefix(4) + [0x08, id, 0x12, 0x05])
        }
        #expect(await raw.closedByServer(within: .seconds(10)))
        let goAway = raw.frames.first { $0.goAway.reason.hasPrefix("protocol violation") }
        #expect(goAway?.goAway.reason.contains("call id \(id)") == true, "\(raw.frames)")
        #expect(!raw.frames.contains { $0.response.hasStatus }, "no call may be answered on id \(id)")
        await server.stop()
    }

    /// The envelope is decoded strictly: a group wire type is malformed (answered on the call),
    /// while an unknown field of an ordinary wire type is skipped.
    @Test func unknownEnvelopeFieldsAreSkippedButGroupsAreMalformed() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        let request = try RawRPCConnection.bytes(of: .request(1, method: EchoServer.echo, payload: EchoServer.Request("x")))
        // Field 99 as a varint (tag 0x98 0x06, value 1) appended to the body.
        var body = Array(request.dropFirst(4)) + [0x98, 0x06, 0x01]
        try await raw.send(RawRPCConnection.lengthPrefix(body.count) + body)
        #expect(try await raw.waitForStatus(of: 1)?.status.code == .ok)
        // Field 99 as a start-group (wire type 3) and end-group (4).
        let second = try RawRPCConnection.bytes(of: .request(3, method: EchoServer.echo))
        body = Array(second.dropFirst(4)) + [0x9B, 0x06, 0x9C, 0x06]
        try await raw.send(RawRPCConnection.lengthPrefix(body.count) + body)
        let status = try #require(try await raw.waitForStatus(of: 3)).status
        #expect(status.code == .invalidArgument)
        #expect(status.message == "malformed frame: not a pixecom.rpc.v1.Frame")
        await raw.close()
        await server.stop()
    }

    /// Request payloads are decoded by the service's protobuf library (SwiftProtobuf), leniently:
    /// an unknown field is ignored, and so is a known field with the wrong wire type (kept as an
    /// unknown field); bytes that are not protobuf at all are INVALID_ARGUMENT.
    @Test func requestPayloadsIgnoreUnknownFieldsAndRefuseWrongWireTypes() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        var frame = try Pixecom_Rpc_V1_Frame.request(1, method: EchoServer.echo)
        frame.request.payload = Data([0x0A, 0x01, 0x41, 0x98, 0x06, 0x01])  // payload "A", field 99 = 1
        try await raw.send(frame)
        let answer = try #require(try await raw.waitForStatus(of: 1))
        #expect(answer.status.code == .ok)
        #expect(try EchoServer.Response(serializedBytes: answer.payload).text == "A")
        frame = try .request(3, method: EchoServer.echo)
        frame.request.payload = Data([0x08, 0x01])  // field 1 (bytes) as a varint
        try await raw.send(frame)
        let lenient = try #require(try await raw.waitForStatus(of: 3))
        #expect(lenient.status.code == .ok)
        #expect(try EchoServer.Response(serializedBytes: lenient.payload).payload.isEmpty)
        frame = try .request(5, method: EchoServer.echo)
        frame.request.payload = Data([0x0A, 0x05, 0x41])  // field 1 announcing 5 bytes, 1 present
        try await raw.send(frame)
        let refused = try #require(try await raw.waitForStatus(of: 5)).status
        #expect(refused.code == .invalidArgument)
        #expect(refused.message == "request payload is not a valid pixecom.testing.v1.EchoRequest")
        // An unknown group is skipped like any unknown field.
        frame = try .request(7, method: EchoServer.echo)
        frame.request.payload = Data([0x0A, 0x01, 0x42, 0x9B, 0x06, 0x08, 0x01, 0x9C, 0x06])
        try await raw.send(frame)
        let group = try #require(try await raw.waitForStatus(of: 7))
        #expect(group.status.code == .ok)
        #expect(try EchoServer.Response(serializedBytes: group.payload).text == "B")
        // A string field that is not UTF-8 (FailRequest.message) is refused.
        frame = try .request(9, method: EchoServer.fail)
        frame.request.payload = Data([0x08, 0x03, 0x12, 0x01, 0xFF])
        try await raw.send(frame)
        let utf8 = try #require(try await raw.waitForStatus(of: 9)).status
        #expect(utf8.code == .invalidArgument)
        #expect(utf8.message == "request payload is not a valid pixecom.testing.v1.FailRequest")
        await raw.close()
        await server.stop()
    }

    // MARK: - Certificates and SNI (§1)

    /// A client certificate must carry extendedKeyUsage clientAuth: one made for servers only is
    /// refused in the handshake, and no call is served.
    @Test func aClientCertificateWithoutClientAuthUsageIsRefused() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let files = try self.serverOnlyCertificate(for: "orders")
        try await server.expectHandshakeRefused(self.certificates, files: files)
        await server.stop()
    }

    /// The server does not check SNI: a client sending another name is served all the same (its
    /// identity comes from its certificate).
    @Test func theServerDoesNotCheckSNI() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(
            port: server.port, certificates: self.certificates, serverName: "unrelated.example", verifyName: false
        )
        try await raw.send(.request(1, method: EchoService.inspect, payload: Pixecom_Testing_V1_InspectRequest()))
        let answer = try #require(try await raw.waitForStatus(of: 1))
        #expect(answer.status.code == .ok)
        #expect(try Pixecom_Testing_V1_InspectResponse(serializedBytes: answer.payload).peerService == "orders")
        await raw.close()
        await server.stop()
    }

    /// A certificate for `service` signed by the test CA with extendedKeyUsage serverAuth only.
    private func serverOnlyCertificate(for service: String) throws -> TLSFiles {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-server-only-cert")
        let key = directory.appendingPathComponent("\(service).key").path
        let request = directory.appendingPathComponent("\(service).csr").path
        let certificate = directory.appendingPathComponent("\(service).pem").path
        let extensions = directory.appendingPathComponent("ext.cnf").path
        try "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:\(service).pixecom.internal\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        try run("/usr/bin/openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])
        try run("/usr/bin/openssl", ["req", "-new", "-key", key, "-subj", "/CN=\(service)", "-out", request])
        try run(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", request, "-CA", self.certificates.path("ca.pem"), "-CAkey", self.certificates.path("ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", certificate,
            ]
        )
        return TLSFiles(caPath: self.certificates.path("ca.pem"), certificatePath: certificate, privateKeyPath: key)
    }

    // MARK: - Refusals while draining (§4.8)

    @Test func refusalsAfterAGoAwaySayWhoSentItAndWhy() {
        var shutdown = ServerConnectionStateMachine(configuration: .init(maxConcurrentCalls: 4))
        #expect(shutdown.receivedRequest(callID: 1, isStream: false, initialWindow: 0) == .accept)
        _ = shutdown.beginDrain(.shutdown)
        #expect(
            shutdown.receivedRequest(callID: 3, isStream: false, initialWindow: 0)
                == .refuse(RPCError(.unavailable, "server is shutting down; call not processed, retry elsewhere")))

        var idle = ServerConnectionStateMachine(configuration: .init(maxConcurrentCalls: 4))
        _ = idle.beginDrain(.idle)
        #expect(
            idle.receivedRequest(callID: 1, isStream: false, initialWindow: 0)
                == .refuse(RPCError(.unavailable, "connection closing after being idle; call not processed, retry on a new connection")))

        var client = ServerConnectionStateMachine(configuration: .init(maxConcurrentCalls: 4))
        _ = client.receivedGoAway()
        #expect(
            client.receivedRequest(callID: 1, isStream: false, initialWindow: 0)
                == .refuse(
                    RPCError(.unavailable, "the client sent GoAway on this connection; call not processed, retry on a new connection")))
        // The client's GoAway first, then the server shuts down: the server's reason is given.
        #expect(client.beginDrain(.shutdown) == .sendGoAway(lastCallID: 0, closeNow: true))
        #expect(
            client.receivedRequest(callID: 3, isStream: false, initialWindow: 0)
                == .refuse(RPCError(.unavailable, "server is shutting down; call not processed, retry elsewhere")))
    }

    @Test func aCallAfterTheClientsOwnGoAwayIsRefusedNamingTheClientsGoAway() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        // Keep the connection open with a call in flight, then say goodbye and call again. The call
        // in flight is ended by a Cancel, not by its own clock: a loaded machine may take longer than
        // any sleep between these sends, and a connection with the client's GoAway and no calls closes.
        try await raw.send(.request(1, method: EchoServer.sleep, payload: sleep(seconds: 60), timeoutMicros: 120_000_000))
        var goAway = Pixecom_Rpc_V1_Frame()
        goAway.goAway.reason = "client closing"
        try await raw.send(goAway)
        try await raw.send(.request(3, method: EchoServer.echo))
        let refused = try #require(try await raw.waitForStatus(of: 3)).status
        #expect(refused.code == .unavailable)
        #expect(refused.notProcessed)
        #expect(refused.message == "the client sent GoAway on this connection; call not processed, retry on a new connection")
        var cancel = Pixecom_Rpc_V1_Frame()
        cancel.callID = 1
        cancel.cancel = Pixecom_Rpc_V1_Cancel()
        try await raw.send(cancel)
        // Cancel gets no answer (§4.4); with the client's GoAway and no call left, the server closes.
        #expect(await raw.closedByServer(within: .seconds(10)))
        await raw.close()
        await server.stop()
    }

    @Test func aCallAfterAnIdleGoAwayIsRefusedAsIdle() async throws {
        let server = try await EchoServer(certificates: self.certificates) {
            $0.idleTimeout = .milliseconds(200)
            $0.drainTimeout = .seconds(30)
        }
        // No call: the connection is idle from the start, so the GoAway names no call.
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        let goAway = try #require(try await raw.waitForFrame { $0.goAway.reason == "idle" }, "no idle GoAway").goAway
        #expect(goAway.lastCallID == 0)
        try await raw.send(.request(1, method: EchoServer.echo))
        let refused = try #require(try await raw.waitForStatus(of: 1)).status
        #expect(refused.code == .unavailable)
        #expect(refused.notProcessed)
        #expect(refused.message == "connection closing after being idle; call not processed, retry on a new connection")
        await raw.close()
        await server.stop()
    }

    // MARK: - Keepalive (§6.2)

    /// A `Ping`'s call id is ignored: the `Pong` carries call id 0 and the same opaque value, and
    /// the connection goes on.
    @Test func aPingWithACallIDIsAnsweredOnCallIDZero() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        var ping = Pixecom_Rpc_V1_Frame()
        ping.callID = 5
        ping.ping.opaque = 42
        try await raw.send(ping)
        let pong = try #require(try await raw.waitForFrame { $0.kind == .pong(Pixecom_Rpc_V1_Pong.with { $0.opaque = 42 }) })
        #expect(pong.callID == 0)
        try await raw.send(.request(5, method: EchoServer.echo))
        #expect(try await raw.waitForStatus(of: 5)?.status.code == .ok)
        await raw.close()
        await server.stop()
    }

    // MARK: - What the server saw (§11, EchoService/Inspect)

    private func inspect(_ raw: RawRPCConnection, id: UInt64, _ frame: Pixecom_Rpc_V1_Frame) async throws
        -> Pixecom_Testing_V1_InspectResponse
    {
        try await raw.send(frame)
        let answer = try #require(try await raw.waitForStatus(of: id))
        try #require(answer.status.code == .ok, "\(answer.status)")
        return try Pixecom_Testing_V1_InspectResponse(serializedBytes: answer.payload)
    }

    @Test func inspectShowsTheCallerTheRequestIDAndTheDeadline() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates, identity: "campaign")
        let inspect = Pixecom_Testing_V1_InspectRequest()

        let given = try await self.inspect(
            raw, id: 1,
            .request(1, method: EchoService.inspect, payload: inspect, metadata: ["x-request-id": "abc-1"], timeoutMicros: 5_000_000))
        #expect(given.peerService == "campaign")
        #expect(given.requestID == "abc-1")
        #expect(given.metadata == ["x-request-id": "abc-1"])
        #expect(given.deadlineGiven)
        #expect(given.remainingMicros > 4_000_000 && given.remainingMicros <= 5_000_000, "\(given.remainingMicros)")

        // A request id of 129 bytes, or an empty one, is replaced by one the server makes.
        for (id, bad) in [(3 as UInt64, String(repeating: "r", count: 129)), (5, "")] {
            let replaced = try await self.inspect(
                raw, id: id, .request(id, method: EchoService.inspect, payload: inspect, metadata: ["x-request-id": bad], timeoutMicros: 0))
            #expect(replaced.requestID != bad && !replaced.requestID.isEmpty)
            #expect(replaced.requestID.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]+/) != nil, "\(replaced.requestID)")
            #expect(replaced.metadata["x-request-id"] == bad, "metadata is shown as received")
            #expect(!replaced.deadlineGiven)
            #expect(replaced.remainingMicros == 0)
        }
        // 128 bytes is kept.
        let longest = String(repeating: "q", count: 128)
        let kept = try await self.inspect(
            raw, id: 7, .request(7, method: EchoService.inspect, payload: inspect, metadata: ["x-request-id": longest]))
        #expect(kept.requestID == longest)
        await raw.close()
        await server.stop()
    }

    /// Two entries with the same key: the last one wins. Keys are not checked or folded: an
    /// upper-case `Authorization` arrives as it was sent, an ordinary key.
    @Test func duplicateMetadataKeysKeepTheLastValueAndKeysAreNotFolded() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let raw = try await RawRPCConnection.connect(port: server.port, certificates: self.certificates)
        // Protobuf merges a message sent in two parts: a `Request` whose map has two entries for
        // "k" is the concatenation of two encoded `Request`s.
        var first = Pixecom_Rpc_V1_Request()
        first.method = EchoService.inspect
        first.metadata = ["k": "first", "Authorization": "Bearer x"]
        var second = Pixecom_Rpc_V1_Request()
        second.metadata = ["k": "second"]
        let request: [UInt8] = try first.serializedBytes() + second.serializedBytes()
        var body: [UInt8] = [0x08, 0x01, 0x12]
        var length = request.count
        while length >= 0x80 {
            body.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        body.append(UInt8(length))
        body += request
        try await raw.send(RawRPCConnection.lengthPrefix(body.count) + body)
        let answer = try #require(try await raw.waitForStatus(of: 1))
        #expect(answer.status.code == .ok, "\(answer.status)")
        let seen = try Pixecom_Testing_V1_InspectResponse(serializedBytes: answer.payload)
        #expect(seen.metadata == ["k": "second", "Authorization": "Bearer x"])
        let context = try #require(server.observed.withLockedValue { $0.lastMetadata }["Authorization"])
        #expect(context == "Bearer x")
        await raw.close()
        await server.stop()
    }

    /// The same rules through the independent C client.
    @Test func theCClientSeesTheSameThroughInspect() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let connection = [
            "--host", "127.0.0.1", "--port", "\(server.port)",
            "--ca", self.certificates.path("ca.pem"),
            "--cert", self.certificates.path("edge.pem"), "--key", self.certificates.path("edge.key"),
            "--service", "stats", "--timeout-ms", "10000",
        ]
        let output = try await CClient.run(
            connection + [
                "--deadline-ms", "5000", "--raw-metadata", "k=first", "--raw-metadata", "k=second", "--raw-metadata", "X-Upper=kept",
                "--raw-metadata", "x-request-id=" + String(repeating: "r", count: 129), "inspect",
            ]
        )
        #expect(output.status == 0, "\(output)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("peer_service: edge"), "\(output)")
        #expect(lines.contains("metadata: k=second"), "\(output)")
        #expect(lines.contains("metadata: X-Upper=kept"), "\(output)")
        #expect(lines.contains("deadline_given: true"), "\(output)")
        #expect(lines.last == "status: OK (0)", "\(output)")
        let requestID = try #require(lines.first { $0.hasPrefix("request_id: ") }).dropFirst("request_id: ".count)
        #expect(requestID.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]+/) != nil, "a 129-byte request id is replaced: \(requestID)")
        let remaining = try #require(
            lines.first { $0.hasPrefix("remaining_micros: ") }.flatMap { UInt64($0.dropFirst("remaining_micros: ".count)) })
        #expect(remaining > 4_000_000 && remaining <= 5_000_000)

        let none = try await CClient.run(connection + ["--no-deadline", "-m", "X-Request-ID=c-1", "inspect"])
        #expect(none.status == 0, "\(none)")
        #expect(none.stdout.contains("request_id: c-1\n"), "\(none)")
        #expect(none.stdout.contains("deadline_given: false\nremaining_micros: 0\n"), "\(none)")
        await server.stop()
    }
}

extension Optional where Wrapped == InboundFrame<ByteBuffer> {
    fileprivate var isNone: Bool { if case .none = self { true } else { false } }
}
