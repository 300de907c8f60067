internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import RPCCore
internal import Synchronization

/// Whether a connection still takes calls. Read from any thread.
final class ConnectionFlags: Sendable {
    private let draining = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)

    /// True once the server sent GOAWAY or the connection ended: new calls go elsewhere.
    var isUsable: Bool { !self.draining.load(ordering: .acquiring) && !self.closed.load(ordering: .acquiring) }
    var isClosed: Bool { self.closed.load(ordering: .acquiring) }

    func markDraining() { self.draining.store(true, ordering: .releasing) }
    func markClosed() { self.closed.store(true, ordering: .releasing) }
}

/// One mutual-TLS connection to one replica, shared by many concurrent calls.
final class ClientConnection: Sendable {
    struct Configuration: Sendable {
        var serverService: String
        var connectTimeout: Duration
        var maxFrameSize: Int
        var liveness: ConnectionLivenessStateMachine.Configuration
    }

    let endpoint: Endpoint
    let channel: any Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    let flags: ConnectionFlags
    private let nextCallID = Atomic<UInt64>(1)

    private init(endpoint: Endpoint, channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, flags: ConnectionFlags) {
        self.endpoint = endpoint
        self.channel = channel
        self.handler = handler
        self.flags = flags
    }

    /// Connects and completes the TLS handshake (the server's certificate must name
    /// `<serverService>.pixecom.internal` and the server must speak this protocol). The handshake
    /// is bounded by the connect timeout too.
    /// The connection lives on `eventLoop` (any loop of the shared group when nil).
    static func connect(
        to endpoint: Endpoint, tls: NIOSSLContext, configuration: Configuration, on eventLoop: (any EventLoop)? = nil
    ) -> EventLoopFuture<ClientConnection> {
        let serverHostname = configuration.serverService + RPCTLS.identityDomain
        let flags = ConnectionFlags()
        return ClientBootstrap(group: eventLoop ?? MultiThreadedEventLoopGroup.singleton.next())
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = channel.eventLoop.makePromise(of: Void.self)
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: tls, serverHostname: serverHostname),
                        ClientConnectionHandler(
                            liveness: configuration.liveness,
                            maxFrameSize: configuration.maxFrameSize,
                            flags: flags,
                            handshake: handshake
                        ),
                    ])
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMap { channel in
                let handler: ClientConnectionHandler
                do {
                    handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
                } catch {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
                let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
                    channel.close(promise: nil)
                }
                let loopBound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                return handler.handshakeFuture.always { _ in timeout.cancel() }.map {
                    ClientConnection(endpoint: endpoint, channel: channel, handler: loopBound, flags: flags)
                }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    private func allocateCallID() -> UInt64 {
        self.nextCallID.add(2, ordering: .relaxed).oldValue
    }

    /// Sends a unary call and returns the response payload. Throws `RPCError`, or
    /// `UnprocessedCallError` when the call never reached the server.
    func unary(_ request: WireRequest<ByteBuffer>, deadline: ContinuousClock.Instant?) async throws -> ByteBuffer {
        let id = self.allocateCallID()
        let loop = self.channel.eventLoop
        let handler = self.handler
        return try await withTaskCancellationHandler {
            // Unsafe: the handler resumes each call exactly once (it removes the call as it does),
            // and the checked variant costs an allocation per call.
            try await withUnsafeThrowingContinuation { continuation in
                if loop.inEventLoop {
                    handler.value.startUnary(id, request, deadline: deadline, continuation: continuation)
                } else {
                    loop.execute { handler.value.startUnary(id, request, deadline: deadline, continuation: continuation) }
                }
            }
        } onCancel: {
            loop.execute { handler.value.cancel(id) }
        }
    }

    /// Starts a server-streaming call; its messages arrive in the returned receiver.
    func startStream(_ request: WireRequest<ByteBuffer>, window: Int, deadline: ContinuousClock.Instant?) -> (UInt64, StreamReceiver) {
        let id = self.allocateCallID()
        let receiver = StreamReceiver()
        let handler = self.handler
        self.channel.eventLoop.execute {
            handler.value.startStream(id, request, window: window, deadline: deadline, receiver: receiver)
        }
        return (id, receiver)
    }

    func consumed(_ id: UInt64) {
        let handler = self.handler
        self.channel.eventLoop.execute { handler.value.consumed(id) }
    }

    func cancel(_ id: UInt64) {
        let handler = self.handler
        self.channel.eventLoop.execute { handler.value.cancel(id) }
    }

    /// No new calls; closes once open calls end.
    func drain() {
        let handler = self.handler
        self.channel.eventLoop.execute { handler.value.drain() }
    }

    func close() async {
        self.flags.markClosed()
        try? await self.channel.close()
    }
}
