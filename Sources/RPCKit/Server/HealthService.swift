internal import NIOConcurrencyHelpers
public import PixEcomProtos

/// What a server's health service answers: a status for the server as a whole (service name "")
/// and optionally per service. Thread-safe; watchers are told of every change.
public final class HealthStatus: Sendable {
    public typealias ServingStatus = Pixecom_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var shuttingDown = false
        var watchers: [Int: AsyncStream<ServingStatus>.Continuation] = [:]
        var watcherServices: [Int: String] = [:]
        var nextWatcher = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Sets the status of `service` ("" for the whole server). Ignored once shutdown began: a
    /// draining server is NOT_SERVING whatever its parts say.
    public func set(_ status: ServingStatus, for service: String = "") {
        // Watchers are told under the lock, so that two racing changes reach them in the order
        // they were made.
        self.state.withLockedValue { state in
            guard !state.shuttingDown, state.statuses[service] != status else { return }
            state.statuses[service] = status
            for (id, watched) in state.watcherServices where watched == service {
                state.watchers[id]?.yield(status)
            }
        }
    }

    /// The status of `service`; SERVICE_UNKNOWN for a name never set.
    public func status(of service: String = "") -> ServingStatus {
        self.state.withLockedValue { state in
            if state.shuttingDown { return .notServing }
            return state.statuses[service] ?? .serviceUnknown
        }
    }

    /// Every status becomes NOT_SERVING, for good. Watchers are told, then their streams end, so
    /// that an open Watch call does not hold a draining connection open.
    func beginShutdown() {
        let watchers = self.state.withLockedValue { state -> [AsyncStream<ServingStatus>.Continuation] in
            state.shuttingDown = true
            for watcher in state.watchers.values { watcher.yield(.notServing) }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
    }

    /// The current status, then each change, until the returned stream is dropped.
    func watch(_ service: String) -> AsyncStream<ServingStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id = self.state.withLockedValue { state -> Int in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = continuation
            state.watcherServices[id] = service
            return id
        }
        continuation.yield(self.status(of: service))
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { state in
                state.watchers.removeValue(forKey: id)
                state.watcherServices.removeValue(forKey: id)
            }
        }
        return stream
    }
}

/// `pixecom.health.v1.Health`, served by every RPCKit server.
struct HealthService: Sendable {
    static let check = "pixecom.health.v1.Health/Check"
    static let watch = "pixecom.health.v1.Health/Watch"

    let status: HealthStatus

    func register(on router: inout RPCRouter) {
        let status = self.status
        router.unary(Self.check, Pixecom_Health_V1_HealthCheckRequest.self) { request, _ in
            var response = Pixecom_Health_V1_HealthCheckResponse()
            response.status = status.status(of: request.service)
            return response
        }
        router.serverStreaming(Self.watch, Pixecom_Health_V1_HealthCheckRequest.self, Pixecom_Health_V1_HealthCheckResponse.self) {
            request, writer, _ in
            for await current in status.watch(request.service) {
                var response = Pixecom_Health_V1_HealthCheckResponse()
                response.status = current
                try await writer.write(response)
            }
        }
    }
}
