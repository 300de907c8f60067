import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
import PixEcomProtos
import SwiftProtobuf

/// Settings of a client channel to one service.
public struct RPCClientConfiguration: Sendable {
    /// Every replica of the service.
    public var endpoints: [Endpoint]
    /// The service name the server certificate must carry, e.g. `stats` for
    /// `stats.pixecom.internal`.
    public var serverService: String
    /// Applied when the caller gives no timeout and no deadline is inherited. Default 30 s.
    public var defaultTimeout: Duration = .seconds(30)
    public var connectTimeout: Duration = .seconds(5)
    /// The largest response frame accepted. Default 4 MiB.
    public var maxFrameSize: Int = 4 * 1024 * 1024

    public init(endpoints: [Endpoint], serverService: String) {
        self.endpoints = endpoints
        self.serverService = serverService
    }
}

/// A channel to one service over mutual TLS: a connection per replica, opened on first use and
/// reopened after it closes, calls spread round robin, many calls multiplexed on each connection.
///
/// Calls made while serving another call inherit its remaining deadline, request id and trace
/// context.
public final class RPCClient: Sendable {
    private struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
        let state: ClientConnectionState
    }

    private let configuration: RPCClientConfiguration
    private let tls: NIOSSLContext
    private struct Slots: Sendable {
        var slots: [Slot]
        var generation = 0
    }

    private let connections: NIOLockedValueBox<Slots>
    private let cursor = NIOLockedValueBox(0)

    public init(configuration: RPCClientConfiguration, tls: NIOSSLContext) {
        precondition(!configuration.endpoints.isEmpty, "an RPC client needs at least one endpoint")
        self.configuration = configuration
        self.tls = tls
        self.connections = NIOLockedValueBox(Slots(slots: Array(repeating: .empty, count: configuration.endpoints.count)))
    }

    /// Makes a unary call. Throws `RPCError` for every failure, including transport ones
    /// (`UNAVAILABLE`) and deadlines (`DEADLINE_EXCEEDED`).
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        metadata: [String: String] = [:],
        timeout: Duration? = nil
    ) async throws -> Response {
        var envelope = Pixecom_Rpc_V1_Request()
        envelope.method = method
        envelope.metadata = metadata
        let inherited = ServerContext.current
        if let inherited {
            envelope.metadata["x-request-id"] = envelope.metadata["x-request-id"] ?? inherited.requestID
            if let trace = inherited.metadata["traceparent"], envelope.metadata["traceparent"] == nil {
                envelope.metadata["traceparent"] = trace
            }
        }
        var effective = timeout ?? self.configuration.defaultTimeout
        if let deadline = inherited?.deadline {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw RPCError(.deadlineExceeded, "deadline exceeded before calling \(method)")
            }
            effective = min(effective, remaining)
        }
        envelope.timeoutMicros = UInt64(max(1, effective.nanoseconds / 1000))
        do {
            envelope.payload = try request.serializedBytes()
        } catch {
            throw RPCError(.invalidArgument, "request could not be serialized: \(error)")
        }

        let connection = try await self.connection()
        let promise = connection.channel.eventLoop.makePromise(of: Pixecom_Rpc_V1_Response.self)
        let handler = connection.handler
        let callID = connection.state.nextCallID()
        let envelopeToSend = envelope
        let timeoutToSend = effective
        connection.channel.eventLoop.execute {
            handler.value.start(callID, envelopeToSend, timeout: timeoutToSend, promise: promise)
        }
        let response = try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            connection.channel.eventLoop.execute {
                handler.value.cancel(callID)
            }
        }
        guard response.status.code == .ok else {
            throw RPCError(status: response.status)
        }
        do {
            return try Response(serializedBytes: response.payload)
        } catch {
            throw RPCError(.internal, "response payload is not a valid \(Response.protoMessageName)")
        }
    }

    /// Closes every connection.
    public func close() async {
        let slots = self.connections.withLockedValue { connections in
            defer { connections.slots = connections.slots.map { _ in .empty } }
            return connections.slots
        }
        for slot in slots {
            switch slot {
            case .ready(let connection):
                try? await connection.channel.close()
            case .connecting(let future, _):
                if let connection = try? await future.get() { try? await connection.channel.close() }
            case .empty:
                break
            }
        }
    }

    /// A usable connection, trying each endpoint once starting from the next in round-robin order.
    private func connection() async throws -> Connection {
        let count = self.configuration.endpoints.count
        let start = self.cursor.withLockedValue { cursor in
            defer { cursor = (cursor + 1) % count }
            return cursor
        }
        var lastError: (any Error)?
        for offset in 0..<count {
            let index = (start + offset) % count
            do {
                return try await self.connection(at: index).get()
            } catch {
                lastError = error
            }
        }
        throw RPCError(
            .unavailable,
            "no \(self.configuration.serverService) endpoint reachable: \(lastError.map { "\($0)" } ?? "none")"
        )
    }

    private enum Slot: Sendable {
        case empty
        case connecting(EventLoopFuture<Connection>, generation: Int)
        case ready(Connection)
    }

    private func connection(at index: Int) -> EventLoopFuture<Connection> {
        let (future, isNew, generation) = self.connections.withLockedValue { slots -> (EventLoopFuture<Connection>, Bool, Int) in
            switch slots.slots[index] {
            case .ready(let connection) where !connection.state.isDraining:
                return (connection.channel.eventLoop.makeSucceededFuture(connection), false, 0)
            case .connecting(let future, let generation):
                return (future, false, generation)
            case .ready, .empty:
                slots.generation += 1
                let future = self.connect(to: self.configuration.endpoints[index])
                slots.slots[index] = .connecting(future, generation: slots.generation)
                return (future, true, slots.generation)
            }
        }
        if isNew {
            future.whenComplete { result in
                self.connections.withLockedValue { slots in
                    guard case .connecting(_, let current) = slots.slots[index], current == generation else { return }
                    switch result {
                    case .success(let connection): slots.slots[index] = .ready(connection)
                    case .failure: slots.slots[index] = .empty
                    }
                }
            }
        }
        return future
    }

    private func connect(to endpoint: Endpoint) -> EventLoopFuture<Connection> {
        let tls = self.tls
        let serverHostname = self.configuration.serverService + RPCTLS.identityDomain
        let maxFrameSize = self.configuration.maxFrameSize
        let state = ClientConnectionState()
        return ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(self.configuration.connectTimeout.nanoseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: tls, serverHostname: serverHostname),
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)),
                        MessageToByteHandler(FrameEncoder()),
                        ClientConnectionHandler(state: state),
                    ])
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
                return Connection(
                    channel: channel,
                    handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
                    state: state
                )
            }
    }
}
