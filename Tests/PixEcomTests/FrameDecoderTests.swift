import Foundation
import NIOCore
import NIOEmbedded
import PixEcomProtos
import Testing

@testable import RPCCore
@testable import RPCKit

/// The frame decoder on an embedded channel: no sockets.
@Suite struct FrameDecoderTests {
    private func frameBytes(callID: UInt64, payloadSize: Int) throws -> ByteBuffer {
        var frame = Pixecom_Rpc_V1_Frame()
        frame.callID = callID
        frame.request.method = "m"
        frame.request.payload = Data(repeating: 7, count: payloadSize)
        let bytes: [UInt8] = try frame.serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    private func channel(limit: Int) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder<ByteBuffer>(maxFrameSize: limit)))
        return channel
    }

    @Test func framesSplitAtEveryByteBoundaryDecodeIdentically() throws {
        var stream = try frameBytes(callID: 3, payloadSize: 10)
        var second = try frameBytes(callID: 5, payloadSize: 300)
        stream.writeBuffer(&second)
        let channel = try channel(limit: 1024)
        while stream.readableBytes > 0 {
            let chunk = stream.readSlice(length: min(3, stream.readableBytes))!
            try channel.writeInbound(chunk)
        }
        var ids: [UInt64] = []
        while let decoded = try channel.readInbound(as: InboundFrame<ByteBuffer>.self) {
            guard case .frame(let frame) = decoded else { Issue.record("unexpected \(decoded)"); continue }
            ids.append(frame.callID)
        }
        #expect(ids == [3, 5])
        _ = try channel.finish()
    }

    @Test func anOversizedFrameIsSkippedAndNamedByItsCallID() throws {
        var stream = try frameBytes(callID: 9, payloadSize: 5000)
        var next = try frameBytes(callID: 11, payloadSize: 10)
        stream.writeBuffer(&next)
        let channel = try channel(limit: 1000)
        try channel.writeInbound(stream)
        let first = try channel.readInbound(as: InboundFrame<ByteBuffer>.self)
        guard case .oversized(let callID, let length, let limit) = first else {
            Issue.record("expected oversized, got \(String(describing: first))")
            return
        }
        #expect(callID == 9)
        #expect(length > 5000)
        #expect(limit == 1000)
        guard case .frame(let frame) = try channel.readInbound(as: InboundFrame<ByteBuffer>.self) else {
            Issue.record("the frame after an oversized one was lost")
            return
        }
        #expect(frame.callID == 11)
        _ = try channel.finish()
    }

    @Test func garbageOfValidLengthIsMalformedAndKeepsFraming() throws {
        var stream = ByteBuffer()
        stream.writeInteger(UInt32(4))
        stream.writeBytes([0x08, 0x07, 0xFF, 0xFF])  // call id 7, then an invalid field
        var next = try frameBytes(callID: 13, payloadSize: 1)
        stream.writeBuffer(&next)
        let channel = try channel(limit: 1000)
        try channel.writeInbound(stream)
        guard case .malformed(let callID) = try channel.readInbound(as: InboundFrame<ByteBuffer>.self) else {
            Issue.record("expected malformed")
            return
        }
        #expect(callID == 7)
        guard case .frame(let frame) = try channel.readInbound(as: InboundFrame<ByteBuffer>.self) else {
            Issue.record("the frame after a malformed one was lost")
            return
        }
        #expect(frame.callID == 13)
        _ = try channel.finish()
    }

    @Test func randomBytesNeverCrashTheDecoder() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let channel = try channel(limit: 4096)
            var buffer = ByteBuffer()
            let count = Int.random(in: 0..<512, using: &generator)
            for _ in 0..<count { buffer.writeInteger(UInt8.random(in: 0...255, using: &generator)) }
            try channel.writeInbound(buffer)
            while try channel.readInbound(as: InboundFrame<ByteBuffer>.self) != nil {}
            _ = try? channel.finish()
        }
    }
}
