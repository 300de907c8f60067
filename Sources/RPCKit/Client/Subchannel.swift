internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import RPCCore

/// The connections to one endpoint: one per event loop of the shared group, each opened on first
/// use on its loop, shared by all calls made from that loop, and replaced when it drains or
/// closes. A call made on an event loop (a handler served by RPCKit, or any task when NIO is the
/// global executor) uses its own loop's connection, so its request, its response and the
/// continuation after it stay on one thread. Calls from elsewhere share the first loop's
/// connection. Concurrent callers share one connection attempt. Thread-safe.
final class Subchannel: Sendable {
    private enum State: Sendable {
        case idle
        case connecting(EventLoopFuture<ClientConnection>)
        case ready(ClientConnection)
    }

    /// One event loop's connection.
    private final class Lane: Sendable {
        let eventLoop: any EventLoop
        let state = NIOLockedValueBox(State.idle)

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }
    }

    let endpoint: Endpoint
    private let tls: NIOSSLContext
    private let configuration: ClientConnection.Configuration
    private let lanes: [Lane]

    init(endpoint: Endpoint, tls: NIOSSLContext, configuration: ClientConnection.Configuration) {
        self.endpoint = endpoint
        self.tls = tls
        self.configuration = configuration
        self.lanes = MultiThreadedEventLoopGroup.singleton.makeIterator().map { Lane(eventLoop: $0) }
    }

    /// The lane of the calling thread's event loop, or the first.
    private var lane: Lane {
        if self.lanes.count > 1, let current = MultiThreadedEventLoopGroup.currentEventLoop {
            for lane in self.lanes where lane.eventLoop === current { return lane }
        }
        return self.lanes[0]
    }

    /// A connection that takes calls, connecting when needed. Throws `RPCError` (UNAVAILABLE) when
    /// the endpoint cannot be reached.
    func connection() async throws -> ClientConnection {
        enum Next { case use(ClientConnection), wait(EventLoopFuture<ClientConnection>) }
        let lane = self.lane
        let next = lane.state.withLockedValue { state -> Next in
            switch state {
            case .ready(let connection) where connection.flags.isUsable:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .ready, .idle:
                // One shared attempt: a caller that gives up (cancellation) stops waiting for it
                // but does not stop it, so the others waiting on it are not failed.
                let future = ClientConnection.connect(
                    to: self.endpoint, tls: self.tls, configuration: self.configuration, on: lane.eventLoop)
                state = .connecting(future)
                return .wait(future)
            }
        }
        let future: EventLoopFuture<ClientConnection>
        switch next {
        case .use(let connection): return connection
        case .wait(let pending): future = pending
        }
        do {
            let connection = try await future.get()
            lane.state.withLockedValue { state in
                if case .connecting = state { state = .ready(connection) }
            }
            return connection
        } catch {
            lane.state.withLockedValue { state in
                if case .connecting = state { state = .idle }
            }
            if let error = error as? RPCError { throw error }
            throw RPCError(.unavailable, "cannot connect to \(self.configuration.serverService) at \(self.endpoint): \(error)")
        }
    }

    /// The calling loop's connection when it is up and takes calls: the fast path, one lock.
    var readyConnection: ClientConnection? {
        self.lane.state.withLockedValue { state in
            if case .ready(let connection) = state, connection.flags.isUsable { return connection }
            return nil
        }
    }

    func close() async {
        for lane in self.lanes {
            let state = lane.state.withLockedValue { state -> State in
                defer { state = .idle }
                return state
            }
            switch state {
            case .ready(let connection):
                await connection.close()
            case .connecting(let future):
                if let connection = try? await future.get() { await connection.close() }
            case .idle:
                break
            }
        }
    }
}
