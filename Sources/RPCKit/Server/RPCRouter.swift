internal import NIOCore
internal import RPCCore
public import SwiftProtobuf

/// Maps method names to handlers. Handlers are ordinary async functions; they end a call with a
/// status by throwing `RPCError`.
public struct RPCRouter: Sendable {
    enum Route: Sendable {
        case unary(@Sendable (ByteBuffer, ServerContext) async throws -> ByteBuffer)
        case serverStreaming(@Sendable (ByteBuffer, RawResponseWriter, ServerContext) async throws -> Void)

        var isStream: Bool {
            if case .serverStreaming = self { return true }
            return false
        }
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Registers a unary method. Registering the same name twice is a programming error.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request.Type = Request.self,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        self.add(
            method,
            .unary({ payload, context in
                let message = try Self.decode(Request.self, payload)
                return try await handler(message, context).serializedBuffer()
            }))
    }

    /// Registers a server-streaming method: the handler writes any number of messages with the
    /// writer (each write waits while the client has granted no credit) and returns to end the
    /// call with OK, or throws to end it with a status.
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request.Type = Request.self,
        _ response: Response.Type = Response.self,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        self.add(
            method,
            .serverStreaming({ payload, writer, context in
                let message = try Self.decode(Request.self, payload)
                try await handler(message, ResponseWriter(raw: writer), context)
            }))
    }

    /// The names of all registered methods.
    public var methods: [String] { self.routes.keys.sorted() }

    /// The registered names, for decoding requests without a `String` per call.
    var methodNames: MethodNames { MethodNames(self.routes.keys) }

    func route(for method: String) -> Route? { self.routes[method] }

    private mutating func add(_ method: String, _ route: Route) {
        precondition(self.routes[method] == nil, "method \(method) registered twice")
        self.routes[method] = route
    }

    private static func decode<Request: SwiftProtobuf.Message>(_ type: Request.Type, _ payload: ByteBuffer) throws -> Request {
        do {
            return try Request(buffer: payload)
        } catch {
            throw RPCError(.invalidArgument, "request payload is not a valid \(Request.protoMessageName)")
        }
    }
}

/// Sends the messages of a server-streaming call.
public struct ResponseWriter<Message: SwiftProtobuf.Message>: Sendable {
    let raw: RawResponseWriter

    /// Sends one message. Waits while the client has no room for more (flow control), so a slow
    /// reader slows the handler down instead of filling memory. Throws once the call has ended
    /// (cancelled by the client, deadline passed, connection lost): stop producing then.
    public func write(_ message: Message) async throws {
        try await self.raw.write(try message.serializedBuffer())
    }
}

/// The serialized form of a unary call's response, as it passes through server interceptors.
public struct RPCResponsePayload: Sendable {
    var buffer: ByteBuffer

    /// Size of the serialized response message in bytes.
    public var count: Int { self.buffer.readableBytes }
}

/// Wraps every call a server serves: authentication, logging, metrics, tracing. `next` runs the
/// rest of the chain and then the handler; throwing ends the call with that status (an `RPCError`,
/// or INTERNAL). Interceptors run in the order given, the first outermost.
public protocol RPCServerInterceptor: Sendable {
    func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> RPCResponsePayload
    ) async throws -> RPCResponsePayload
}
