import NIOConcurrencyHelpers
import NIOCore

/// The last handler of a raw test connection: keeps every byte received and closes the channel
/// on an error.
final class ReceivedBytesCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received = NIOLockedValueBox(ByteBuffer())
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.received.withLockedValue { _ = $0.writeBuffer(&buffer) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
