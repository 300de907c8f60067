import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// How the edge serves an HTTP/1.1 connection (behind TLS, see `EdgeMain.api`): NIO's HTTP/1
/// request decoder, an idle timeout, and `EdgeConnectionHandler`, which runs `EdgeResponder` for each
/// request on the connection's event loop. HummingbirdCore's `Server` accepts the connections and shuts them down
/// gracefully (idle ones at once, busy ones after their current response).
///
/// The edge does not use Hummingbird's `Application` for this: its per-connection async
/// streams cost about as much CPU as everything else a simple GET does in the edge
/// (docs/PERFORMANCE.md). Routing, requests and responses are Hummingbird's.
struct EdgeHTTPChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let channel: any Channel
    }

    let responder: EdgeResponder
    let maxBodyBytes: Int
    /// The body limit of the asset upload routes (`EdgeConnectionHandler.isUpload`).
    let maxUploadBytes: Int
    /// A connection with no request in flight that sends nothing for this long is closed.
    let idleTimeout: TimeAmount
    /// Proxies whose `X-Forwarded-For` names the client.
    let trustedProxies: TrustedProxies

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(IdleStateHandler(readTimeout: self.idleTimeout))
            // Requests are decoded by NIO; responses are encoded, pipelining, parse errors and
            // shutdown handled by EdgeConnectionHandler.
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            try pipeline.addHandler(
                EdgeConnectionHandler(
                    responder: self.responder, maxBodyBytes: self.maxBodyBytes, maxUploadBytes: self.maxUploadBytes,
                    trustedProxies: self.trustedProxies, logger: logger,
                    eventLoop: channel.eventLoop)
            )
            return Value(channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        // The handlers serve the connection; the server only waits for it to end.
        try? await value.channel.closeFuture.get()
    }
}
