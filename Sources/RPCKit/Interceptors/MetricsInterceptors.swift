internal import Metrics
internal import NIOConcurrencyHelpers
internal import RPCCore

/// Per-method call metrics of a server: `rpc_server_calls_total{method,code}` and the latency
/// histogram `rpc_server_duration_seconds{method}` (OpenTelemetry-style names). Metric objects
/// are made once per method and code and reused, so a call costs a dictionary lookup.
public final class MetricsServerInterceptor: RPCServerInterceptor {
    private let recorder = CallMetricsRecorder(prefix: "rpc_server")

    public init() {}

    public func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> RPCResponsePayload
    ) async throws -> RPCResponsePayload {
        let start = ContinuousClock.now
        do {
            let response = try await next(context)
            self.recorder.record(method: context.method, code: .ok, since: start)
            return response
        } catch {
            self.recorder.record(method: context.method, code: RPCError.from(error).code, since: start)
            throw error
        }
    }
}

/// Per-method call metrics of a client, retries included: `rpc_client_calls_total{method,code}`
/// and `rpc_client_duration_seconds{method}`.
public final class MetricsClientInterceptor: RPCClientInterceptor {
    private let recorder = CallMetricsRecorder(prefix: "rpc_client")

    public init() {}

    public func intercept<Result: Sendable>(
        _ call: ClientCall,
        next: (ClientCall) async throws -> Result
    ) async throws -> Result {
        let start = ContinuousClock.now
        do {
            let result = try await next(call)
            self.recorder.record(method: call.method, code: .ok, since: start)
            return result
        } catch {
            self.recorder.record(method: call.method, code: RPCError.from(error).code, since: start)
            throw error
        }
    }
}

/// Caches the counters and timers of each method. Thread-safe.
final class CallMetricsRecorder: Sendable {
    private struct Key: Hashable {
        let method: String
        let code: RPCError.Code
    }

    private let prefix: String
    private let counters = NIOLockedValueBox<[Key: Counter]>([:])
    private let timers = NIOLockedValueBox<[String: Metrics.Timer]>([:])

    init(prefix: String) {
        self.prefix = prefix
    }

    func record(method: String, code: RPCError.Code, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let key = Key(method: method, code: code)
        let counter = self.counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "\(self.prefix)_calls_total", dimensions: [("method", method), ("code", code.name)])
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timer = self.timers.withLockedValue { timers in
            if let timer = timers[method] { return timer }
            let timer = Metrics.Timer(
                label: "\(self.prefix)_duration_seconds", dimensions: [("method", method)], preferredDisplayUnit: .seconds)
            timers[method] = timer
            return timer
        }
        timer.recordNanoseconds(elapsed.nanoseconds)
    }
}
