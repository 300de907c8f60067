import NIOCore

/// Client side of the raw echo: writes each call's frame, flushes once per event-loop tick, and
/// resumes the waiting calls in order, since the server echoes frames in the order they arrive.
///
/// Confined to its channel's event loop.
final class RawEchoClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A waiting call, resumed with the size of the echoed frame.
    typealias Waiter = CheckedContinuation<Int, any Error>

    private var context: ChannelHandlerContext?
    private var waiting = CircularBuffer<Waiter>(initialCapacity: 1024)
    private var flushPending = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes `frame`; the flush follows once the calls already queued on the loop are written.
    func send(_ frame: ByteBuffer, waiter: Waiter) {
        guard let context = self.context, context.channel.isActive else {
            waiter.resume(throwing: RawEchoConnectionClosed())
            return
        }
        self.waiting.append(waiter)
        context.write(Self.wrapOutboundOut(frame), promise: nil)
        if !self.flushPending {
            self.flushPending = true
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.flush() }
        }
    }

    private func flush() {
        self.flushPending = false
        self.context?.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        self.waiting.popFirst()?.resume(returning: frame.readableBytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RawEchoConnectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let waiter = self.waiting.popFirst() {
            waiter.resume(throwing: error)
        }
    }
}

/// The raw echo connection closed while calls were waiting.
struct RawEchoConnectionClosed: Error {}
