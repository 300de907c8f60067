import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import RPCKit

/// Serves the HTTP/1.1 requests of one connection: collects a request's body (up to the limit),
/// runs the edge's responder for it as a task on the connection's event loop, and writes the
/// response from there.
///
/// One request is answered at a time. A pipelined request that arrives meanwhile is held (up to
/// a bound) and answered next; reading is never paused for an ordinary keep-alive client, which
/// sends its next request only after the answer (pausing would cost two `epoll_ctl` calls per
/// request). Parse errors are answered 400 and end the connection, after the response in
/// flight if there is one. On `ChannelShouldQuiesceEvent` (graceful shutdown) an idle connection
/// closes at once, a busy one after its current response.
///
/// A request that arrives whole in one read runs without a task switch until its handler first
/// suspends (for its RPC); the RPC's answer resumes it on this loop, which writes the response.
/// Not thread-safe: used on its channel's event loop only.
final class EdgeConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    /// Responses are encoded here (`ResponseEncoding`), head and body in one buffer.
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case receiving(HTTPRequestHead, body: ByteBuffer, tooLarge: Bool)
        case responding
    }

    private var state = State.idle
    /// The task answering the current request; cancelled when the connection closes under it.
    private var task: Task<Void, Never>?
    /// What arrived while a response was being made: pipelined requests' parts, or a parse
    /// error behind them; and the size of the parts' bodies.
    private enum Held {
        case part(HTTPServerRequestPart)
        case parseError
    }

    private var held: [Held] = []
    private var heldRequests = 0
    private var heldBytes = 0
    /// Close once the response in flight is written (graceful shutdown).
    private var closeAfterResponse = false
    /// The client sent all it will: close once the responses to what it sent are written.
    private var inputClosed = false
    private let responder: EdgeResponder
    private let maxBodyBytes: Int
    private let maxUploadBytes: Int
    private let trustedProxies: TrustedProxies
    private let logger: Logger
    private let executor: EventLoopTaskExecutor

    init(
        responder: EdgeResponder, maxBodyBytes: Int, maxUploadBytes: Int, trustedProxies: TrustedProxies, logger: Logger,
        eventLoop: any EventLoop
    ) {
        self.responder = responder
        self.maxBodyBytes = maxBodyBytes
        self.maxUploadBytes = maxUploadBytes
        self.trustedProxies = trustedProxies
        self.logger = logger
        self.executor = EventLoopTaskExecutor(eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if self.isBusy {
            self.hold(part, context: context)
        } else {
            self.receive(part, context: context)
        }
    }

    /// A request is being answered, or held ones wait their turn (what arrives now goes after
    /// them).
    private var isBusy: Bool {
        if case .responding = self.state { return true }
        return !self.held.isEmpty
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (part, self.state) {
        case (.head(let head), .idle):
            self.state = .receiving(head, body: ByteBuffer(), tooLarge: false)
        case (.body(var chunk), .receiving(let head, var body, var tooLarge)):
            self.state = .responding  // drops the state's reference, so `body` grows in place
            if tooLarge {
                // The rest of an oversized body is read and dropped; the answer is 413.
            } else if body.readableBytes + chunk.readableBytes > (Self.isUpload(head) ? self.maxUploadBytes : self.maxBodyBytes) {
                tooLarge = true
                body = ByteBuffer()
            } else if body.readableBytes == 0 {
                body = chunk
            } else {
                body.writeBuffer(&chunk)
            }
            self.state = .receiving(head, body: body, tooLarge: tooLarge)
        case (.end, .receiving(let head, let body, let tooLarge)):
            self.state = .responding
            self.respond(context: context, head: head, body: body, tooLarge: tooLarge)
        default:
            // The HTTP decoder delivers head, body..., end: anything else is a bug.
            self.logger.error("edge.http.unexpected_part", metadata: ["http.part": "\(part)"])
            context.close(promise: nil)
        }
    }

    /// Keeps a pipelined request's part for later; a client that piles up more than `maxHeld`
    /// requests or a request body's worth of bytes is cut off.
    private func hold(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head: self.heldRequests += 1
        case .body(let chunk): self.heldBytes += chunk.readableBytes
        case .end: break
        }
        self.held.append(.part(part))
        if self.heldBytes > self.maxBodyBytes || self.heldRequests > Self.maxHeld {
            self.logger.debug("edge.http.pipelined_too_much")
            context.close(promise: nil)
        }
    }

    /// Whether `head` is an asset upload, whose body may be as large as the upload limit:
    /// `POST /v1/assets` and `PUT /v1/asset-uploads/{id}`.
    static func isUpload(_ head: HTTPRequestHead) -> Bool {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch head.method {
        case .POST: return path == "/v1/assets" || path == "/v1/order-imports.csv"
        case .PUT: return path.hasPrefix("/v1/asset-uploads/") || path.hasPrefix("/v1/order-imports/")
        default: return false
        }
    }

    /// Held requests at most (clients that pipeline at all send a handful).
    static let maxHeld = 32

    /// After a response: the held requests, as if they arrived now. Called from its own
    /// event-loop task, not from the answer before, so a long run of pipelined requests that are
    /// answered without suspending does not nest one answer inside the other on the stack.
    private func replayHeld(context: ChannelHandlerContext) {
        // Up to the end of the next held request: its answer schedules the next replay.
        while !self.held.isEmpty, context.channel.isActive {
            if case .responding = self.state { return }
            switch self.held.removeFirst() {
            case .part(let part):
                switch part {
                case .head: self.heldRequests -= 1
                case .body(let chunk): self.heldBytes -= chunk.readableBytes
                case .end: break
                }
                self.receive(part, context: context)
                if case .end = part { return }
            case .parseError:
                self.held.removeAll()
                self.answerParseError(context: context)
                return
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // Graceful shutdown: no new requests; the one in flight, or still arriving, is
            // answered first.
            if case .idle = self.state, self.held.isEmpty {
                context.close(promise: nil)
            } else {
                self.closeAfterResponse = true
            }
        case ChannelEvent.inputClosed:
            // The client sent all it will (TLS close_notify, or a TCP half-close): what is in
            // flight or held is still answered, then the connection closes; a request still
            // arriving never will. Without this, a client that closes cleanly waits for its TLS
            // shutdown timeout.
            switch self.state {
            case .responding: self.inputClosed = true
            case .idle, .receiving: context.close(promise: nil)
            }
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read:
            // Quiet for the idle timeout: close unless a request is being answered (its handler
            // may legitimately wait for a slow service).
            if self.isBusy { return }
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client is gone: stop the work done for it (its RPC is cancelled too).
        self.task?.cancel()
        self.task = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After a parse error the decoder reports every further read as this; the parse error
        // itself is already being answered (after the responses ahead of it).
        if case ByteToMessageDecoderError.dataReceivedInErrorState = error { return }
        guard error is HTTPParserError else {
            // TLS and socket errors end the connection.
            self.logger.debug("edge.http.connection_error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        // Not HTTP: answered 400 and closed, after the responses to the requests before it.
        if self.isBusy {
            self.held.append(.parseError)
            return
        }
        self.answerParseError(context: context)
    }

    /// Answers 400 in the JSON error body, like any other error, and closes the connection.
    private func answerParseError(context: ChannelHandlerContext) {
        self.state = .responding
        let response = self.responder.answer(RPCError(.invalidArgument, "the request is not valid HTTP/1.1"), requestID: RandomIDs.uuid())
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        self.task = Task.immediate(executorPreference: self.executor) {
            let (handler, context) = bound.value
            await handler.write(response, context: context, keepAlive: false, headOnly: false)
        }
    }

    // MARK: - Answering

    /// The request being answered is HTTP/1.1 or later (chunked bodies are understood).
    private var chunksUnderstood = true

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer, tooLarge: Bool) {
        let keepAlive = head.isKeepAlive
        self.chunksUnderstood = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
        let headOnly = head.method == .HEAD
        // nil: a head that is valid HTTP/1 but not valid HTTP semantics (a bad method or field).
        let request = try? Request(head: Self.request(head), body: RequestBody(buffer: body))
        let requestContext = EdgeRequestContext(
            source: ApplicationRequestContextSource(channel: context.channel, logger: self.logger),
            clientAddress: self.clientAddress(context, head: head))
        let responder = self.responder
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        // Runs here until the handler first suspends; resumes on this loop (the executor).
        self.task = Task.immediate(executorPreference: self.executor) {
            let response: Response
            if let request {
                response = await responder.respond(to: request, context: requestContext, bodyTooLarge: tooLarge)
            } else {
                response = responder.answer(RPCError(.invalidArgument, "the request head is malformed"), requestID: RandomIDs.uuid())
            }
            let (handler, context) = bound.value
            await handler.write(response, context: context, keepAlive: keepAlive && request != nil, headOnly: headOnly)
        }
    }

    /// The HTTPTypes form of a request head. An origin-form target (`/path?query`, what every
    /// client sends to an origin server) is the request's path as it is; only an absolute-form
    /// one goes through NIO's conversion, which parses it as a URL (a tenth of a request's CPU).
    private static func request(_ head: HTTPRequestHead) throws -> HTTPRequest {
        guard head.uri.utf8.first == UInt8(ascii: "/") else {
            return try HTTPRequest(head, secure: true, splitCookie: false)
        }
        return HTTPRequest(
            method: try HTTPRequest.Method(head.method),
            scheme: "https",
            authority: head.headers.first(name: "host"),
            path: head.uri,
            headerFields: HTTPFields(head.headers, splitCookie: false)
        )
    }

    /// The peer's IP address and whether it is a trusted proxy, worked out once per connection.
    private var peer: (address: String, isProxy: Bool)?

    /// The client's address: the peer's, or for a trusted proxy the one its `X-Forwarded-For`
    /// names (per request: a proxy sends many clients' requests over one connection).
    private func clientAddress(_ context: ChannelHandlerContext, head: HTTPRequestHead) -> String {
        let peer: (address: String, isProxy: Bool)
        if let known = self.peer {
            peer = known
        } else {
            let address = context.channel.remoteAddress?.ipAddress ?? ""
            peer = (address, self.trustedProxies.trusts(address))
            self.peer = peer
        }
        guard peer.isProxy else { return peer.address }
        return self.trustedProxies.client(peer: peer.address, forwardedFor: head.headers["x-forwarded-for"])
    }

    /// Writes the response: head and body in one buffer and one flush; a body of unknown length
    /// (a download streamed from a service) in chunks as they come, each written before the
    /// next is asked for. Closes the connection after it when it is not kept alive. Runs on the
    /// connection's loop.
    private func write(_ response: Response, context: ChannelHandlerContext, keepAlive: Bool, headOnly: Bool) async {
        if !headOnly, response.body.contentLength == nil {
            await self.writeChunked(response, context: context, keepAlive: keepAlive)
            return
        }
        let body = BodyCollector()
        if !headOnly {
            do {
                // A ByteBuffer body (every route's) hands its buffer over without suspending.
                try await response.body.write(body)
            } catch {
                self.logger.debug("edge.http.body_failed", metadata: ["error": "\(error)"])
                context.close(promise: nil)
                return
            }
        }
        self.state = .idle
        self.task = nil
        // A graceful shutdown may have begun meanwhile.
        let stayOpen = keepAlive && !self.closeAfterResponse && !(self.inputClosed && self.held.isEmpty)
        let length = headOnly ? (response.body.contentLength ?? 0) : body.count
        var buffer = context.channel.allocator.buffer(capacity: 512 + (headOnly ? 0 : length))
        ResponseEncoding.writeHead(
            status: response.status, headers: response.headers, contentLength: length, keepAlive: stayOpen, into: &buffer)
        for part in body.buffers { buffer.writeImmutableBuffer(part) }
        self.finish(buffer, context: context, stayOpen: stayOpen)
    }

    /// A streamed body: the head with the first chunk, then every buffer the body writes as one
    /// chunk, flushed and waited for (the socket's pace is the producer's: a slow client slows
    /// the service, never fills the edge's memory). A body that fails before its first chunk is
    /// answered as any error is (a JSON body with its status, the same request id and headers);
    /// one that fails after it ends the connection without the last chunk, which tells the
    /// client the download is incomplete.
    private func writeChunked(_ response: Response, context: ChannelHandlerContext, keepAlive: Bool) async {
        // HTTP/1.0 knows no chunks: the bytes as they are, and the end of the connection ends them.
        let chunked = self.chunksUnderstood
        let stayOpenAtStart = keepAlive && !self.closeAfterResponse && chunked
        var head = context.channel.allocator.buffer(capacity: 512)
        ResponseEncoding.writeHead(
            status: response.status, headers: response.headers, contentLength: nil, chunked: chunked, keepAlive: stayOpenAtStart,
            into: &head)
        let writer = ChunkWriter(context: context, handler: self, head: head, chunked: chunked)
        do {
            try await response.body.write(writer)
        } catch {
            guard writer.headWritten else {
                await self.write(self.errorResponse(error, replacing: response), context: context, keepAlive: keepAlive, headOnly: false)
                return
            }
            self.logger.info("edge.http.stream_failed", metadata: ["error": "\(error)"])
            self.state = .idle
            self.task = nil
            context.close(promise: nil)
            return
        }
        self.state = .idle
        self.task = nil
        let stayOpen = stayOpenAtStart && !self.closeAfterResponse && !(self.inputClosed && self.held.isEmpty)
        var end = writer.headWritten ? context.channel.allocator.buffer(capacity: 8) : writer.head
        if chunked { ResponseEncoding.writeLastChunk(into: &end) }
        self.finish(end, context: context, stayOpen: stayOpen)
    }

    /// Writes a response's last bytes; then answers the requests held meanwhile, or closes the
    /// connection once they are written.
    private func finish(_ bytes: ByteBuffer, context: ChannelHandlerContext, stayOpen: Bool) {
        if stayOpen {
            context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
            if !self.held.isEmpty {
                let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                context.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.replayHeld(context: context)
                }
            }
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(self.wrapOutboundOut(bytes), promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The error answer to a streamed response that failed before its first byte: the error's
    /// status and JSON body, with the headers the streamed response had (request id, CORS,
    /// security) except its content type and disposition.
    private func errorResponse(_ error: any Error, replacing response: Response) -> Response {
        let requestID = response.headers[RequestIDs.header] ?? ""
        var answer = ErrorResponse.make(for: error, requestID: requestID, path: "", logger: self.logger)
        for field in response.headers
        where field.name != .contentType && field.name != .contentDisposition && field.name != .cacheControl
            && answer.headers[field.name] == nil
        {
            answer.headers.append(field)
        }
        return answer
    }

    /// Writes each buffer as a chunk (the first one after the head, in one write) and waits
    /// until the channel has taken it. Used by one task, on the connection's loop.
    private final class ChunkWriter: ResponseBodyWriter {
        let context: ChannelHandlerContext
        let handler: EdgeConnectionHandler
        let head: ByteBuffer
        let chunked: Bool
        private(set) var headWritten = false

        init(context: ChannelHandlerContext, handler: EdgeConnectionHandler, head: ByteBuffer, chunked: Bool) {
            self.context = context
            self.handler = handler
            self.head = head
            self.chunked = chunked
        }

        func write(_ buffer: ByteBuffer) async throws {
            guard buffer.readableBytes > 0 else { return }
            var chunk: ByteBuffer
            if self.headWritten {
                chunk = self.context.channel.allocator.buffer(capacity: buffer.readableBytes + 16)
            } else {
                chunk = self.head
                self.headWritten = true
            }
            if self.chunked {
                ResponseEncoding.writeChunk(buffer, into: &chunk)
            } else {
                chunk.writeImmutableBuffer(buffer)
            }
            try await self.context.writeAndFlush(self.handler.wrapOutboundOut(chunk)).get()
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// Collects a response body's buffers. Used by one task, on one loop.
    private final class BodyCollector: ResponseBodyWriter {
        var buffers: [ByteBuffer] = []
        var count = 0

        func write(_ buffer: ByteBuffer) async throws {
            self.count += buffer.readableBytes
            self.buffers.append(buffer)
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
