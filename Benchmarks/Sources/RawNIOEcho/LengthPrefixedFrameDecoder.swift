import NIOCore

/// Splits the byte stream into `[4-byte big-endian length][body]` frames and passes each whole
/// frame on, length prefix included, so it can be echoed or checked without copying.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let frame = buffer.readSlice(length: 4 + Int(length))
        else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }
}
