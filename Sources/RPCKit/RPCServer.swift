import Foundation
import Logging
import Metrics
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
import PixEcomProtos

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

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// An RPC server over mutual TLS.
///
/// `bind` opens the listening socket; `run` serves until the task is cancelled or
/// `beginGracefulShutdown` has drained every connection.
public final class RPCServer: Sendable {
    private let configuration: RPCServerConfiguration
    private let router: RPCRouter
    private let logger: Logger
    private let listener: NIOAsyncChannel<AcceptedConnection, Never>
    private let connections = NIOLockedValueBox<[ObjectIdentifier: ServerConnection]>([:])
    private let shuttingDown = NIOLockedValueBox(false)

    /// The bound port.
    public let localPort: Int

    struct AcceptedConnection: Sendable {
        let calls: AsyncStream<IncomingCall>
        let channel: any Channel
        let handler: NIOLoopBound<ServerConnectionHandler>
    }

    private init(
        configuration: RPCServerConfiguration,
        router: RPCRouter,
        logger: Logger,
        listener: NIOAsyncChannel<AcceptedConnection, Never>
    ) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.listener = listener
        self.localPort = listener.channel.localAddress?.port ?? configuration.port
    }

    /// Opens the listening socket.
    public static func bind(
        configuration: RPCServerConfiguration,
        tls: NIOSSLContext,
        router: RPCRouter,
        logger: Logger
    ) async throws -> RPCServer {
        let maxFrameSize = configuration.maxFrameSize
        let maxCalls = configuration.maxConcurrentCallsPerConnection
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (calls, continuation) = AsyncStream.makeStream(of: IncomingCall.self)
                    let handler = ServerConnectionHandler(
                        maxConcurrentCalls: maxCalls,
                        maxFrameSize: maxFrameSize,
                        calls: continuation,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: tls),
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)),
                        MessageToByteHandler(FrameEncoder()),
                        handler,
                    ])
                    return AcceptedConnection(
                        calls: calls,
                        channel: channel,
                        handler: NIOLoopBound(handler, eventLoop: channel.eventLoop)
                    )
                }
            }
        return RPCServer(configuration: configuration, router: router, logger: logger, listener: listener)
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
    /// Connections still busy after the drain timeout are closed.
    public func beginGracefulShutdown() {
        let first = self.shuttingDown.withLockedValue { value in
            defer { value = true }
            return !value
        }
        guard first else { return }
        self.logger.info("rpc.server.draining")
        self.listener.channel.close(promise: nil)
        let connections = self.connections.withLockedValue { Array($0.values) }
        for connection in connections {
            let handler = connection.handler
            connection.channel.eventLoop.execute {
                handler.value.beginDrain(reason: "server shutting down")
            }
            let channel = connection.channel
            channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(self.configuration.drainTimeout.nanoseconds))) {
                channel.close(promise: nil)
            }
        }
    }

    private func serve(_ accepted: AcceptedConnection) async {
        let key = ObjectIdentifier(accepted.channel)
        let connection = ServerConnection(channel: accepted.channel, handler: accepted.handler, peerService: nil)
        let drainNow = self.shuttingDown.withLockedValue { shuttingDown in
            if !shuttingDown { self.connections.withLockedValue { $0[key] = connection } }
            return shuttingDown
        }
        if drainNow {
            accepted.channel.eventLoop.execute { accepted.handler.value.beginDrain(reason: "server shutting down") }
        }
        await withDiscardingTaskGroup { group in
            for await call in accepted.calls {
                group.addTask { await self.serve(call) }
            }
        }
        _ = self.connections.withLockedValue { $0.removeValue(forKey: key) }
    }

    private func serve(_ call: IncomingCall) async {
        let request = call.request
        let requestID = request.metadata["x-request-id"].flatMap { $0.isEmpty ? nil : $0 } ?? UUID().uuidString.lowercased()
        var logger = self.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        logger[metadataKey: "rpc.method"] = "\(request.method)"
        if let peer = call.connection.peerService {
            logger[metadataKey: "rpc.peer"] = "\(peer)"
        }
        let deadline: ContinuousClock.Instant? =
            request.timeoutMicros == 0 ? nil : call.receivedAt.advanced(by: .microseconds(Int64(clamping: request.timeoutMicros)))
        let context = ServerContext(
            method: request.method,
            metadata: request.metadata,
            deadline: deadline,
            peerService: call.connection.peerService,
            requestID: requestID,
            logger: logger
        )
        guard let handler = self.router.handler(for: request.method) else {
            call.connection.finish(
                callID: call.id,
                frame: .status(callID: call.id, RPCError(.unimplemented, "unknown method \(request.method)"))
            )
            return
        }

        var deadlineTimer: Scheduled<Void>?
        if let deadline {
            let control = call.control
            let remaining = deadline - .now
            deadlineTimer = call.connection.channel.eventLoop.scheduleTask(in: .nanoseconds(max(0, Int64(remaining.nanoseconds)))) {
                control.interrupt(.deadlineExceeded)
            }
        }
        defer { deadlineTimer?.cancel() }

        enum Outcome: Sendable {
            case completed(Result<Data, any Error>)
            case interrupted(CallInterruption)
        }
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    let response = try await ServerContext.$current.withValue(context) {
                        try await handler(request.payload, context)
                    }
                    return .completed(.success(response))
                } catch {
                    return .completed(.failure(error))
                }
            }
            group.addTask {
                await call.control.wait().map { .interrupted($0) }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            let frame: Pixecom_Rpc_V1_Frame
            switch first {
            case .completed(.success(let payload)):
                frame = .response(callID: call.id, payload: payload, status: Pixecom_Rpc_V1_Status())
            case .completed(.failure(let error as RPCError)):
                frame = .status(callID: call.id, error)
            case .completed(.failure(let error as any RPCErrorConvertible)) where error.rpcError != nil:
                frame = .status(callID: call.id, error.rpcError!)
            case .completed(.failure(let error)):
                logger.error("rpc.handler.failed", metadata: ["error": "\(String(reflecting: error))"])
                frame = .status(callID: call.id, RPCError(.internal, "internal error (request id \(requestID))"))
            case .interrupted(let interruption):
                frame = .status(callID: call.id, interruption.error)
            case .none:
                frame = .status(callID: call.id, RPCError(.cancelled, "call cancelled"))
            }
            call.connection.finish(callID: call.id, frame: frame)
            Self.record(method: request.method, code: frame.response.status.code, since: call.receivedAt, logger: logger)
        }
    }

    /// Per-method metrics (calls by status code, latency) and one log line per call.
    private static func record(method: String, code: RPCCode, since start: ContinuousClock.Instant, logger: Logger) {
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.nanoseconds
        Counter(label: "rpc_server_calls_total", dimensions: [("method", method), ("code", code.name)]).increment()
        Timer(label: "rpc_server_duration_seconds", dimensions: [("method", method)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(nanoseconds)
        logger.info(
            "rpc.call",
            metadata: ["rpc.code": "\(code.name)", "rpc.duration_ms": "\(Double(nanoseconds) / 1_000_000)"]
        )
    }

}

extension CallInterruption {
    var error: RPCError {
        switch self {
        case .deadlineExceeded: RPCError(.deadlineExceeded, "deadline exceeded")
        case .cancelledByClient: RPCError(.cancelled, "call cancelled by the client")
        case .connectionClosed: RPCError(.unavailable, "connection closed")
        }
    }
}

extension Duration {
    /// The whole duration in nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
