internal import Foundation
public import Logging
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOPosix
public import NIOSSL
internal import RPCCore

/// Settings of an RPC server. Defaults follow common gRPC practice.
public struct RPCServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; read the bound one from `RPCServer.localPort`.
    public var port: Int
    /// The largest frame accepted, in bytes; larger frames get RESOURCE_EXHAUSTED. Default 4 MiB.
    public var maxFrameSize: Int = 4 * 1024 * 1024
    /// Calls served at once per connection; more get RESOURCE_EXHAUSTED. Default 100.
    public var maxConcurrentCallsPerConnection: Int = 100
    /// How long in-flight calls may run after a graceful shutdown starts. Default 10 s.
    public var drainTimeout: Duration = .seconds(10)
    /// A connection that completes no TLS handshake within this is closed. Default 10 s.
    public var handshakeTimeout: Duration = .seconds(10)
    /// After this long without reading anything the server pings the client, and closes the
    /// connection when nothing arrives within `keepaliveTimeout` more. Defaults 60 s and 20 s.
    public var keepaliveInterval: Duration = .seconds(60)
    public var keepaliveTimeout: Duration = .seconds(20)
    /// A connection with no call for this long is closed (GOAWAY first). Default 15 minutes.
    public var idleTimeout: Duration? = .seconds(15 * 60)
    /// Wrap every call, first outermost.
    public var interceptors: [any RPCServerInterceptor] = []
    /// Run handlers on the event loop of their connection (default; fewer thread hops) or on the
    /// cooperative pool.
    public var runsHandlersOnEventLoop = true

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// An RPC server over mutual TLS.
///
/// `bind` opens the listening socket; `run` serves until `beginGracefulShutdown` has drained every
/// connection (or the task is cancelled). Every server answers the health service
/// (`pixecom.health.v1.Health`) from `health`.
public final class RPCServer: Sendable {
    private let configuration: RPCServerConfiguration
    private let router: RPCRouter
    private let logger: Logger
    private let listener: NIOAsyncChannel<AcceptedConnection, Never>
    private let connections = NIOLockedValueBox<[ObjectIdentifier: ServerConnection]>([:])
    private let shuttingDown = NIOLockedValueBox(false)

    /// The bound port.
    public let localPort: Int
    /// What the health service answers; NOT_SERVING once shutdown begins.
    public let health: HealthStatus

    struct AcceptedConnection: Sendable {
        let calls: CallStarter
        let connection: ServerConnection
    }

    private init(
        configuration: RPCServerConfiguration,
        router: RPCRouter,
        health: HealthStatus,
        logger: Logger,
        listener: NIOAsyncChannel<AcceptedConnection, Never>
    ) {
        self.configuration = configuration
        self.router = router
        self.health = health
        self.logger = logger
        self.listener = listener
        self.localPort = listener.channel.localAddress?.port ?? configuration.port
    }

    /// Opens the listening socket.
    public static func bind(
        configuration: RPCServerConfiguration,
        tls: NIOSSLContext,
        router: RPCRouter,
        health: HealthStatus = HealthStatus(),
        logger: Logger
    ) async throws -> RPCServer {
        var router = router
        // Each service the router serves answers SERVING under its own name too, as the health
        // protocol promises; a caller may set it otherwise (a dependency down, say).
        for service in Set(router.methods.compactMap { $0.split(separator: "/").first.map(String.init) }) {
            health.set(.serving, for: service)
        }
        HealthService(status: health).register(on: &router)
        let finalRouter = router
        let handlerConfiguration = ServerConnectionHandler.Configuration(
            stateMachine: .init(maxConcurrentCalls: configuration.maxConcurrentCallsPerConnection),
            liveness: .init(
                keepaliveInterval: configuration.keepaliveInterval,
                keepaliveTimeout: configuration.keepaliveTimeout,
                idleTimeout: configuration.idleTimeout
            ),
            handshakeTimeout: configuration.handshakeTimeout,
            drainTimeout: configuration.drainTimeout,
            maxFrameSize: configuration.maxFrameSize
        )
        let runner = CallRunner(interceptors: configuration.interceptors, logger: logger)
        let runsOnLoop = configuration.runsHandlersOnEventLoop
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let calls = CallStarter(runner: runner, eventLoop: runsOnLoop ? channel.eventLoop : nil)
                    let handler = ServerConnectionHandler(
                        configuration: handlerConfiguration,
                        router: finalRouter,
                        calls: calls,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: tls),
                        handler,
                    ])
                    return AcceptedConnection(
                        calls: calls,
                        connection: ServerConnection(
                            channel: channel,
                            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                            peerService: nil
                        )
                    )
                }
            }
        return RPCServer(configuration: configuration, router: finalRouter, health: health, logger: logger, listener: listener)
    }

    /// Serves connections until the listener closes and every connection has ended.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await self.listener.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    /// Stops accepting connections and calls; in-flight calls finish, then connections close.
    /// Connections still busy after the drain timeout are closed. The health service answers
    /// NOT_SERVING from now on.
    public func beginGracefulShutdown() {
        let first = self.shuttingDown.withLockedValue { value in
            defer { value = true }
            return !value
        }
        guard first else { return }
        self.logger.info("rpc.server.draining")
        self.health.beginShutdown()
        self.listener.channel.close(promise: nil)
        let connections = self.connections.withLockedValue { Array($0.values) }
        for connection in connections {
            Self.drain(connection)
        }
    }

    /// GOAWAY; the connection closes when its calls are done and the client acknowledged, or at
    /// the drain timeout (kept by the handler).
    private static func drain(_ connection: ServerConnection) {
        let handler = connection.handler
        connection.channel.eventLoop.execute {
            handler.value.beginDrain(.shutdown)
        }
    }

    private func serve(_ accepted: AcceptedConnection) async {
        let key = ObjectIdentifier(accepted.connection.channel)
        let drainNow = self.shuttingDown.withLockedValue { shuttingDown in
            if !shuttingDown { self.connections.withLockedValue { $0[key] = accepted.connection } }
            return shuttingDown
        }
        if drainNow {
            Self.drain(accepted.connection)
        }
        // The handler starts each call's task itself; here we only wait for the connection to
        // close and its last handler to return.
        try? await accepted.connection.channel.closeFuture.get()
        await accepted.calls.waitUntilDone()
        _ = self.connections.withLockedValue { $0.removeValue(forKey: key) }
    }
}

/// Runs one call: its context, the interceptors, the handler, and the final frame.
struct CallRunner: Sendable {
    let interceptors: [any RPCServerInterceptor]
    let logger: Logger

    func serve(_ call: IncomingCall) async {
        let request = call.request
        let givenRequestID =
            request.metadata.isEmpty ? nil : request.metadata["x-request-id"].flatMap { $0.isEmpty || $0.utf8.count > 128 ? nil : $0 }
        let deadline: ContinuousClock.Instant? =
            request.timeoutMicros == 0 ? nil : call.receivedAt.advanced(by: .microseconds(Int64(clamping: request.timeoutMicros)))
        let context = ServerContext(
            method: request.method,
            metadata: request.metadata,
            deadline: deadline,
            peerService: call.connection.peerService,
            givenRequestID: givenRequestID,
            requestNumber: givenRequestID == nil ? RequestID.nextNumber() : 0,
            logger: self.logger
        )
        let interrupted = withUnsafeCurrentTask { task in task.flatMap { call.control.attach($0) } }
        if interrupted != nil { return }  // the connection already answered the call
        let outcome: Result<ByteBuffer, any Error>
        do {
            let payload = try await self.runChain(call, context: context, index: 0)
            outcome = .success(payload.buffer)
        } catch {
            outcome = .failure(error)
        }
        call.control.detach()
        switch outcome {
        case .success(let payload):
            call.connection.finish(callID: call.id, payload: payload, status: .ok)
        case .failure(let error):
            call.connection.finish(callID: call.id, payload: ByteBuffer(), status: RPCStatus(self.status(for: error, context: context)))
        }
    }

    /// Runs the interceptors from `index` on, then the handler.
    private func runChain(_ call: IncomingCall, context: ServerContext, index: Int) async throws -> RPCResponsePayload {
        let interceptors = self.interceptors
        if index < interceptors.count {
            return try await interceptors[index].intercept(context: context) { context in
                try await self.runChain(call, context: context, index: index + 1)
            }
        }
        return try await ServerContext.$current.withValue(context) {
            switch call.route {
            case .unary(let handler):
                return RPCResponsePayload(buffer: try await handler(call.request.payload, context))
            case .serverStreaming(let handler):
                try await handler(call.request.payload, RawResponseWriter(callID: call.id, connection: call.connection), context)
                return RPCResponsePayload(buffer: ByteBuffer())
            }
        }
    }

    /// The status a failed call ends with. Errors that are not statuses become INTERNAL without
    /// their description, so internals never reach a caller.
    private func status(for error: any Error, context: ServerContext) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible where error.rpcError != nil:
            return error.rpcError!
        case is CancellationError:
            return RPCError(.cancelled, "call cancelled")
        default:
            context.logger.error("rpc.handler.failed", metadata: ["error": "\(String(reflecting: error))"])
            return RPCError(.internal, "internal error (request id \(context.requestID))")
        }
    }
}
