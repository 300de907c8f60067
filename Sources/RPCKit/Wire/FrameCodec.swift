public import NIOCore
public import RPCCore

/// The frame decoder as a NIO `ByteToMessageDecoder` (the tests put it in a pipeline; the
/// connection handlers use `FrameReader`).
extension FrameDecoder: ByteToMessageDecoder where Bytes == ByteBuffer {
    public typealias InboundOut = InboundFrame<ByteBuffer>

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// The bytes of a connection not yet decoded into frames, and the decoder. A connection handler
/// feeds it each read and takes the frames out itself, so frames are never boxed into `NIOAny`
/// on their way up the pipeline.
struct FrameReader {
    private var decoder: FrameDecoder<ByteBuffer>
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
    mutating func next() -> InboundFrame<ByteBuffer>? {
        guard var buffer = self.pending else { return nil }
        self.pending = nil
        let frame = self.decoder.next(&buffer)
        if buffer.readableBytes > 0 {
            self.pending = buffer
        }
        return frame
    }
}
