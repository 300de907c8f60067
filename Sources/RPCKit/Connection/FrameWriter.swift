internal import NIOCore
internal import RPCCore

/// The outbound side of a connection, shared by the server and client handlers: the frames of
/// one flush go into one buffer (one TLS record, or a few for large ones, instead of one per
/// frame, and one allocation), and flushes are coalesced: at the end of the current read, or
/// once per event-loop tick outside reads, so answers produced together leave in one system
/// call without waiting when the connection is quiet. Pure: the handler does the I/O.
struct FrameWriter {
    /// Pending bytes beyond this are written at once (not flushed), so the buffer stays bounded.
    static let chunk = 64 * 1024

    private var outbound: ByteBuffer?
    private var flushPending = false
    /// Set by the handler between `channelRead` and `channelReadComplete`, which flushes.
    var reading = false

    /// What the handler does after appending a frame.
    struct Append {
        /// Write this now (a full chunk), without flushing.
        var chunk: ByteBuffer?
        /// Schedule a flush on the next event-loop tick.
        var scheduleFlush: Bool
    }

    mutating func append(_ frame: WireFrame<ByteBuffer>, allocator: ByteBufferAllocator) -> Append {
        if self.outbound == nil {
            self.outbound = allocator.buffer(capacity: max(frame.bodySize + 4, 2048))
        }
        frame.write(to: &self.outbound!)
        var result = Append(chunk: nil, scheduleFlush: false)
        if self.outbound!.readableBytes >= Self.chunk {
            result.chunk = self.outbound.take()
        }
        if !self.flushPending {
            self.flushPending = true
            result.scheduleFlush = !self.reading
        }
        return result
    }

    /// What a flush writes first (possibly nothing), or nil when no flush is pending.
    struct Flush {
        var bytes: ByteBuffer?
    }

    mutating func flush() -> Flush? {
        guard self.flushPending else { return nil }
        self.flushPending = false
        return Flush(bytes: self.outbound.take())
    }
}
