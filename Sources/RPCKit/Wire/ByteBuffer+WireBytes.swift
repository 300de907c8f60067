public import NIOCore
public import RPCCore

/// NIO's buffer is the transport's bytes: frames are decoded from the bytes read from the socket,
/// payloads stay slices of them, and frames are encoded into the buffer that is written.
extension ByteBuffer: WireBytes {
    /// The readable bytes in `range` (offsets from the reader index), sharing storage.
    public func slice(_ range: Range<Int>) -> ByteBuffer {
        self.getSlice(at: self.readerIndex + range.lowerBound, length: range.count)!
    }
}
