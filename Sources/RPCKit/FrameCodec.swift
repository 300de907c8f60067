import Foundation
import NIOCore
import NIOFoundationCompat
import PixEcomProtos
import SwiftProtobuf

/// What the frame decoder hands up the pipeline.
enum InboundFrame {
    /// A complete, well-formed frame.
    case frame(Pixecom_Rpc_V1_Frame)
    /// A frame larger than the limit. Its bytes are skipped without being buffered; `callID` is read
    /// from the frame's first bytes when present, so that call alone can be failed.
    case oversized(callID: UInt64?, length: Int, limit: Int)
    /// A frame of valid length whose bytes are not a `Frame` message.
    case malformed(callID: UInt64?)
}

/// Splits the byte stream into 4-byte big-endian length-prefixed frames.
///
/// Invariant: framing never loses sync. An oversized frame is skipped by counting its bytes and a
/// malformed frame is still exactly `length` bytes long, so neither harms the frames after it.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    /// The largest frame body accepted, in bytes.
    let maxFrameSize: Int
    /// Bytes of an oversized frame still to be skipped.
    private var bytesToSkip = 0

    init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if self.bytesToSkip > 0 {
            let skipped = min(self.bytesToSkip, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skipped)
            self.bytesToSkip -= skipped
            return self.bytesToSkip == 0 ? .continue : .needMoreData
        }
        guard let length32 = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return .needMoreData
        }
        let length = Int(length32)
        if length > self.maxFrameSize {
            // Wait for enough of the body to read the call id (tag + 10-byte varint at most).
            let prefix = min(length, 11)
            guard buffer.readableBytes >= 4 + prefix else { return .needMoreData }
            let callID = Self.peekCallID(buffer, at: buffer.readerIndex + 4, count: prefix)
            buffer.moveReaderIndex(forwardBy: 4)
            self.bytesToSkip = length
            context.fireChannelRead(
                Self.wrapInboundOut(.oversized(callID: callID, length: length, limit: self.maxFrameSize))
            )
            return .continue
        }
        guard buffer.readableBytes >= 4 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let body = buffer.readSlice(length: length)!
        do {
            let frame = try Pixecom_Rpc_V1_Frame(serializedBytes: Data(buffer: body, byteTransferStrategy: .noCopy))
            context.fireChannelRead(Self.wrapInboundOut(.frame(frame)))
        } catch {
            let callID = Self.peekCallID(body, at: body.readerIndex, count: min(length, 11))
            context.fireChannelRead(Self.wrapInboundOut(.malformed(callID: callID)))
        }
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Reads field 1 (`call_id`, a varint) when it is the first field of the frame body.
    static func peekCallID(_ buffer: ByteBuffer, at index: Int, count: Int) -> UInt64? {
        guard count >= 2, buffer.getInteger(at: index, as: UInt8.self) == 0x08 else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for offset in 1..<count {
            guard let byte = buffer.getInteger(at: index + offset, as: UInt8.self), shift < 64 else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}

/// Writes each outbound `Frame` as a 4-byte big-endian length and the serialized message.
struct FrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = Pixecom_Rpc_V1_Frame

    func encode(data: Pixecom_Rpc_V1_Frame, out: inout ByteBuffer) throws {
        let bytes: [UInt8] = try data.serializedBytes()
        out.reserveCapacity(4 + bytes.count)
        out.writeInteger(UInt32(bytes.count))
        out.writeBytes(bytes)
    }
}

extension Pixecom_Rpc_V1_Frame {
    /// A response frame that ends call `callID` with `status`, carrying `payload` when OK.
    static func response(callID: UInt64, payload: Data = Data(), status: Pixecom_Rpc_V1_Status) -> Self {
        var frame = Pixecom_Rpc_V1_Frame()
        frame.callID = callID
        frame.response.payload = payload
        frame.response.status = status
        return frame
    }

    static func status(callID: UInt64, _ error: RPCError) -> Self {
        .response(callID: callID, status: error.status)
    }
}
