import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The connection to one endpoint: opened on first use, shared by all calls, replaced when it
/// drains or closes. Concurrent callers share one connection attempt. Thread-safe.
final class Subchannel: Sendable {
    private enum State: Sendable {
        case idle
        case connecting(EventLoopFuture<ClientConnection>)
        case ready(ClientConnection)
    }

    let endpoint: Endpoint
    private let tls: NIOSSLContext
    private let configuration: ClientConnection.Configuration
    private let state = NIOLockedValueBox(State.idle)

    init(endpoint: Endpoint, tls: NIOSSLContext, configuration: ClientConnection.Configuration) {
        self.endpoint = endpoint
        self.tls = tls
        self.configuration = configuration
    }

    /// A connection that takes calls, connecting when needed. Throws `RPCError` (UNAVAILABLE) when
    /// the endpoint cannot be reached.
    func connection() async throws -> ClientConnection {
        enum Next { case use(ClientConnection), wait(EventLoopFuture<ClientConnection>) }
        let next = self.state.withLockedValue { state -> Next in
            switch state {
            case .ready(let connection) where connection.flags.isUsable:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .ready, .idle:
                // One shared attempt: a caller that gives up (cancellation) stops waiting for it
                // but does not stop it, so the others waiting on it are not failed.
                let future = ClientConnection.connect(to: self.endpoint, tls: self.tls, configuration: self.configuration)
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
            self.state.withLockedValue { state in
                if case .connecting = state { state = .ready(connection) }
            }
            return connection
        } catch {
            self.state.withLockedValue { state in
                if case .connecting = state { state = .idle }
            }
            if let error = error as? RPCError { throw error }
            throw RPCError(.unavailable, "cannot connect to \(self.configuration.serverService) at \(self.endpoint): \(error)")
        }
    }

    /// The connection when one is up and takes calls: the fast path, one lock.
    var readyConnection: ClientConnection? {
        self.state.withLockedValue { state in
            if case .ready(let connection) = state, connection.flags.isUsable { return connection }
            return nil
        }
    }

    /// The current connection if it is up (for draining on shutdown).
    var currentConnection: ClientConnection? {
        if case .ready(let connection) = self.state.withLockedValue({ $0 }) { return connection }
        return nil
    }

    func close() async {
        let state = self.state.withLockedValue { state -> State in
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
