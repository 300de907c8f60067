import NIOCore

/// What the frame decoder hands up the pipeline.
enum InboundFrame: Sendable {
    /// A complete, well-formed frame.
    case frame(WireFrame)
    /// A frame larger than the limit. Its bytes are skipped without being buffered; `callID` is read
    /// from the frame's first bytes when present, so that call alone can be failed.
    case oversized(callID: UInt64?, length: Int, limit: Int)
    /// A frame of valid length whose bytes are not a `Frame` message.
    case malformed(callID: UInt64?)
}

/// Splits the byte stream into 4-byte big-endian length-prefixed frames and decodes each.
///
/// Invariant: framing never loses sync. An oversized frame is skipped by counting its bytes and a
/// malformed frame is still exactly `length` bytes long, so neither harms the frames after it.
/// Memory is bounded by the limit: an oversized frame is never buffered.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    /// The largest frame body accepted, in bytes.
    let maxFrameSize: Int
    /// Method names to reuse (a server's routes).
    let methods: MethodNames?
    /// Bytes of an oversized frame still to be skipped.
    private var bytesToSkip = 0

    init(maxFrameSize: Int, methods: MethodNames? = nil) {
        self.maxFrameSize = maxFrameSize
        self.methods = methods
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    /// The next decoded frame from `buffer`, or nil when more bytes are needed. Pure: usable
    /// without a channel (the fuzz tests drive it directly).
    mutating func next(_ buffer: inout ByteBuffer) -> InboundFrame? {
        if self.bytesToSkip > 0 {
            let skipped = min(self.bytesToSkip, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skipped)
            self.bytesToSkip -= skipped
            if self.bytesToSkip > 0 { return nil }
        }
        guard let length32 = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return nil
        }
        let length = Int(length32)
        if length > self.maxFrameSize {
            // Decide as soon as the call id is known or known to be absent: after the first body
            // byte when it is not the call id's tag, else when the varint after it ends (at most
            // 11 body bytes). A sender that stalls after the length is answered no later.
            let available = min(length, buffer.readableBytes - 4)
            guard case .known(let callID) = Self.callIDPrefix(buffer, at: buffer.readerIndex + 4, available: available, length: length)
            else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            let skipped = min(length, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skipped)
            self.bytesToSkip = length - skipped
            return .oversized(callID: callID, length: length, limit: self.maxFrameSize)
        }
        guard buffer.readableBytes >= 4 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let body = buffer.readSlice(length: length)!
        do {
            return .frame(try WireFrame.decode(body, methods: self.methods))
        } catch {
            return .malformed(callID: Self.peekCallID(body, at: body.readerIndex, count: min(length, 11)))
        }
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    enum CallIDPrefix: Equatable {
        /// More body bytes are needed to tell.
        case needMoreBytes
        /// The call id, or nil when the body does not start with one.
        case known(UInt64?)
    }

    /// What the first `available` of a frame body's `length` bytes say about its call id (field 1,
    /// a varint, first in the body).
    static func callIDPrefix(_ buffer: ByteBuffer, at index: Int, available: Int, length: Int) -> CallIDPrefix {
        guard available >= 1 else { return length == 0 ? .known(nil) : .needMoreBytes }
        guard buffer.getInteger(at: index, as: UInt8.self) == 0x08 else { return .known(nil) }
        for offset in 1..<min(available, 11) {
            guard let byte = buffer.getInteger(at: index + offset, as: UInt8.self) else { return .known(nil) }
            if byte & 0x80 == 0 {
                return .known(Self.peekCallID(buffer, at: index, count: offset + 1))
            }
        }
        // The varint has not ended: wait for more bytes unless the body or its 11-byte window is
        // exhausted.
        return available >= min(length, 11) ? .known(nil) : .needMoreBytes
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

/// The bytes of a connection not yet decoded into frames, and the decoder. A connection handler
/// feeds it each read and takes the frames out itself, so frames are never boxed into `NIOAny`
/// on their way up the pipeline.
struct FrameReader {
    private var decoder: FrameDecoder
    private var pending: ByteBuffer?

    init(maxFrameSize: Int, methods: MethodNames? = nil) {
        self.decoder = FrameDecoder(maxFrameSize: maxFrameSize, methods: methods)
    }

    /// Adds one read's bytes.
    mutating func append(_ bytes: ByteBuffer) {
        if var pending = self.pending {
            self.pending = nil  // keep the storage uniquely referenced
            // Drop what was decoded already, so the buffer holds one partial frame at most.
            if pending.readerIndex > 0 { pending.discardReadBytes() }
            var bytes = bytes
            pending.writeBuffer(&bytes)
            self.pending = pending
        } else {
            self.pending = bytes
        }
    }

    /// Bytes received and not yet decoded.
    var bufferedBytes: Int { self.pending?.readableBytes ?? 0 }

    /// The next frame, or nil when more bytes are needed.
    mutating func next() -> InboundFrame? {
        guard var buffer = self.pending else { return nil }
        self.pending = nil
        let frame = self.decoder.next(&buffer)
        if buffer.readableBytes > 0 {
            self.pending = buffer
        }
        return frame
    }
}

/// Writes each outbound frame as a 4-byte big-endian length and the `Frame` message.
struct FrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = WireFrame

    func encode(data: WireFrame, out: inout ByteBuffer) throws {
        data.write(to: &out)
    }
}
