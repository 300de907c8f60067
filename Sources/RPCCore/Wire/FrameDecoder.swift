/// What the frame decoder hands up.
public enum InboundFrame<Bytes: WireBytes>: Sendable {
    /// A complete, well-formed frame.
    case frame(WireFrame<Bytes>)
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
public struct FrameDecoder<Bytes: WireBytes> {
    /// The largest frame body accepted, in bytes.
    public let maxFrameSize: Int
    /// Method names to reuse (a server's routes).
    public let methods: MethodNames?
    /// Bytes of an oversized frame still to be skipped.
    @usableFromInline var bytesToSkip = 0

    public init(maxFrameSize: Int, methods: MethodNames? = nil) {
        self.maxFrameSize = maxFrameSize
        self.methods = methods
    }

    /// The next decoded frame from `buffer`, or nil when more bytes are needed. Consumes the
    /// frame's bytes from `buffer`. Pure: the transport feeds it, and the fuzz tests drive it
    /// directly.
    @inlinable
    public mutating func next(_ buffer: inout Bytes) -> InboundFrame<Bytes>? {
        if self.bytesToSkip > 0 {
            let skipped = min(self.bytesToSkip, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: skipped)
            self.bytesToSkip -= skipped
            if self.bytesToSkip > 0 { return nil }
        }
        let readable = buffer.readableBytes
        guard readable >= 4 else { return nil }
        let length = buffer.withUnsafeReadableBytes { Int(UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self))) }
        if length > self.maxFrameSize {
            // Decide as soon as the call id is known or known to be absent: after the first body
            // byte when it is not the call id's tag, else when the varint after it ends (at most
            // 11 body bytes). A sender that stalls after the length is answered no later.
            let available = min(length, readable - 4)
            let prefix = buffer.withUnsafeReadableBytes { bytes in
                Self.callIDPrefix(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + available)]), length: length)
            }
            guard case .known(let callID) = prefix else { return nil }
            buffer.moveReaderIndex(forwardBy: 4 + available)
            self.bytesToSkip = length - available
            return .oversized(callID: callID, length: length, limit: self.maxFrameSize)
        }
        guard readable >= 4 + length else { return nil }
        let body = buffer.slice(4..<(4 + length))
        buffer.moveReaderIndex(forwardBy: 4 + length)
        do {
            return .frame(try WireFrame.decode(body, methods: self.methods))
        } catch {
            return .malformed(callID: body.withUnsafeReadableBytes { Self.peekCallID(UnsafeRawBufferPointer(rebasing: $0.prefix(11))) })
        }
    }

    public enum CallIDPrefix: Equatable {
        /// More body bytes are needed to tell.
        case needMoreBytes
        /// The call id, or nil when the body does not start with one.
        case known(UInt64?)
    }

    /// What `available`, the first bytes of a frame body of `length` bytes, say about its call id
    /// (field 1, a varint, first in the body).
    @inlinable
    public static func callIDPrefix(_ available: UnsafeRawBufferPointer, length: Int) -> CallIDPrefix {
        guard available.count >= 1 else { return length == 0 ? .known(nil) : .needMoreBytes }
        guard available[0] == 0x08 else { return .known(nil) }
        for offset in 1..<min(available.count, 11) where available[offset] & 0x80 == 0 {
            return .known(Self.peekCallID(UnsafeRawBufferPointer(rebasing: available[0...offset])))
        }
        // The varint has not ended: wait for more bytes unless the body or its 11-byte window is
        // exhausted.
        return available.count >= min(length, 11) ? .known(nil) : .needMoreBytes
    }

    /// Reads field 1 (`call_id`, a varint) when it is the first field of the frame body `bytes`
    /// begins.
    @inlinable
    public static func peekCallID(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count >= 2, bytes[0] == 0x08 else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for offset in 1..<bytes.count {
            let byte = bytes[offset]
            guard shift < 64 else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
