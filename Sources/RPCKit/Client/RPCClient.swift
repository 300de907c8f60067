internal import NIOConcurrencyHelpers
internal import NIOCore
public import NIOSSL
internal import PixEcomProtos
internal import RPCCore
public import SwiftProtobuf
internal import Synchronization

/// A channel to one service over mutual TLS: a connection per replica, calls balanced across
/// replicas (`LoadBalancer`), retried by `RetryPolicy` within a `RetryThrottle`, kept away from
/// failing replicas by circuit breakers, outlier ejection and health checks.
///
/// Calls made while serving another call inherit its remaining deadline, request id and trace.
/// Health checking and DNS re-resolution run while `run()` runs (a `Service` in the services);
/// calls work without it, on the configured addresses. Thread-safe.
public final class RPCClient: Sendable {
    let configuration: RPCClientConfiguration
    let tls: NIOSSLContext
    let connectionConfiguration: ClientConnection.Configuration
    /// The balancer, the retry throttle and the random source, under one lock: a call takes it
    /// once to pick an endpoint and once to record how the call ended.
    let state: NIOLockedValueBox<ChannelState>
    /// One per endpoint ever picked; a handful, so found by a scan rather than by hashing.
    let subchannels = NIOLockedValueBox<[Subchannel]>([])
    let closed = Atomic<Bool>(false)

    public init(configuration: RPCClientConfiguration, tls: NIOSSLContext) {
        precondition(!configuration.endpoints.isEmpty, "an RPC client needs at least one endpoint")
        self.configuration = configuration
        self.tls = tls
        self.connectionConfiguration = ClientConnection.Configuration(
            serverService: configuration.serverService,
            connectTimeout: configuration.connectTimeout,
            maxFrameSize: configuration.maxFrameSize,
            liveness: .init(
                keepaliveInterval: configuration.keepaliveInterval,
                keepaliveTimeout: configuration.keepaliveTimeout,
                idleTimeout: nil
            )
        )
        self.state = NIOLockedValueBox(
            ChannelState(
                balancer: LoadBalancer(endpoints: configuration.endpoints, configuration: configuration.loadBalancer),
                throttle: configuration.retryThrottle
            )
        )
    }

    /// Makes a unary call. Throws `RPCError` for every failure, including transport ones
    /// (`UNAVAILABLE`) and deadlines (`DEADLINE_EXCEEDED`).
    ///
    /// - Parameters:
    ///   - timeout: how long to wait in all, retries included; default
    ///     `RPCClientConfiguration.defaultTimeout`, shortened to what remains of an inherited
    ///     deadline.
    ///   - idempotent: whether the call may be retried after it may have reached the server;
    ///     default: whether the method is in `RPCClientConfiguration.idempotentMethods`.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        metadata: [String: String] = [:],
        timeout: Duration? = nil,
        idempotent: Bool? = nil
    ) async throws -> Response {
        let payload: ByteBuffer
        do {
            payload = try request.serializedBuffer()
        } catch {
            throw RPCError(.invalidArgument, "request could not be serialized: \(error)")
        }
        let deadline = try self.deadline(for: method, timeout: timeout ?? self.configuration.defaultTimeout)
        let call = ClientCall(method: method, metadata: self.outgoingMetadata(metadata), service: self.configuration.serverService)
        let retryable =
            idempotent ?? (!self.configuration.idempotentMethods.isEmpty && self.configuration.idempotentMethods.contains(method))
        let response = try await self.intercepted(call) { call in
            try await self.unaryAttempts(call, payload: payload, deadline: deadline, idempotent: retryable)
        }
        do {
            return try Response(buffer: response)
        } catch {
            throw RPCError(.internal, "response payload is not a valid \(Response.protoMessageName)")
        }
    }

    /// Closes every connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        self.closed.store(true, ordering: .releasing)
        let subchannels = self.subchannels.withLockedValue { subchannels in
            defer { subchannels.removeAll() }
            return subchannels
        }
        for subchannel in subchannels { await subchannel.close() }
    }

    // MARK: - Attempts

    private func unaryAttempts(_ call: ClientCall, payload: ByteBuffer, deadline: ContinuousClock.Instant, idempotent: Bool) async throws
        -> ByteBuffer
    {
        let policy = self.configuration.retryPolicy
        var attempt = 1
        var avoiding: Set<Endpoint> = []
        var lastError: RPCError?
        while true {
            let now = ContinuousClock.now
            guard now < deadline else {
                throw lastError.map { RPCError(.deadlineExceeded, "deadline exceeded after \(attempt - 1) attempts; last: \($0.message)") }
                    ?? RPCError(.deadlineExceeded, "deadline exceeded before calling \(call.method)")
            }
            let endpoint = try self.pick(avoiding: avoiding, now: now, lastError: lastError)
            let request = WireRequest(method: call.method, metadata: call.metadata, payload: payload)
            do {
                let connection = try await self.connection(to: endpoint)
                let response = try await connection.unary(request, deadline: deadline)
                self.record(endpoint, .success)
                return response
            } catch let unprocessed as UnprocessedCallError {
                // Nothing happened on the server: try another replica, whatever the method; at
                // once, or after the delay a refusing server asked for. Costs no retry token.
                self.record(endpoint, .notProcessed)
                lastError = unprocessed.error
                guard attempt < policy.maxAttempts, !Task.isCancelled else { throw unprocessed.error }
                if let millis = unprocessed.error.retryDelayMillis {
                    let delay = Duration.milliseconds(Int64(clamping: millis))
                    guard ContinuousClock.now + delay < deadline else { throw unprocessed.error }
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        throw RPCError(.cancelled, "call cancelled")
                    }
                }
            } catch let failure as any CallFailure & Sendable {
                // Lost with its connection: counts against the endpoint, charges the retry budget
                // once per connection, and is retried like any UNAVAILABLE when idempotent.
                let error = failure.error
                let charges = (failure as? ConnectionLostError)?.chargesRetryBudget ?? true
                self.record(endpoint, .endpointFailure, chargesRetryBudget: charges)
                lastError = error
                guard idempotent, self.shouldRetry(error, attempt: attempt, policy: policy) else { throw error }
                let delay = policy.backoff(
                    beforeAttempt: attempt + 1, random: self.state.withLockedValue { Double.random(in: 0...1, using: &$0.random) })
                guard ContinuousClock.now + delay < deadline else { throw error }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RPCError(.cancelled, "call cancelled")
                }
            } catch let error as RPCError {
                self.record(endpoint, LoadBalancer.Outcome(endingWith: error.code), chargesRetryBudget: error.code.chargesRetryThrottle)
                lastError = error
                guard idempotent, self.shouldRetry(error, attempt: attempt, policy: policy) else { throw error }
                let delay =
                    error.retryDelayMillis.map { Duration.milliseconds(Int64(clamping: $0)) }
                    ?? policy.backoff(
                        beforeAttempt: attempt + 1, random: self.state.withLockedValue { Double.random(in: 0...1, using: &$0.random) })
                guard ContinuousClock.now + delay < deadline else { throw error }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RPCError(.cancelled, "call cancelled")
                }
            } catch is CancellationError {
                self.record(endpoint, .neutral)
                throw RPCError(.cancelled, "call cancelled")
            }
            attempt += 1
            avoiding.insert(endpoint)
        }
    }

    private func shouldRetry(_ error: RPCError, attempt: Int, policy: RetryPolicy) -> Bool {
        guard policy.retryableCodes.contains(error.code), attempt < policy.maxAttempts, !Task.isCancelled else { return false }
        // RESOURCE_EXHAUSTED is retried only when the server said when (an oversized message
        // will not get smaller).
        if error.code == .resourceExhausted && error.retryDelayMillis == nil { return false }
        return self.state.withLockedValue { $0.throttle.allowsRetry }
    }

    /// An endpoint for the next attempt, counted in flight.
    func pick(avoiding: Set<Endpoint>, now: ContinuousClock.Instant, lastError: RPCError?) throws -> Endpoint {
        guard !self.closed.load(ordering: .acquiring) else {
            throw RPCError(.unavailable, "the client for \(self.configuration.serverService) is closed")
        }
        let picked = self.state.withLockedValue { state in
            state.balancer.pick(now: now, avoiding: avoiding, random: &state.random)
        }
        guard let picked else {
            let reason = lastError.map { "; last error: \($0.message)" } ?? ""
            throw RPCError(
                .unavailable,
                "no \(self.configuration.serverService) endpoint is available (all unreachable, unhealthy, ejected or with an open circuit)\(reason)"
            )
        }
        return picked
    }

    /// Records how a call at `endpoint` ended, for its breaker, ejection and the retry throttle.
    /// `chargesRetryBudget`: whether a failed or neutral attempt takes a throttle token; by
    /// default an endpoint failure does and a neutral answer does not.
    func record(_ endpoint: Endpoint, _ outcome: LoadBalancer.Outcome, chargesRetryBudget: Bool? = nil) {
        let now = ContinuousClock.now
        self.state.withLockedValue { state in
            state.balancer.callEnded(at: endpoint, outcome: outcome, now: now)
            switch outcome {
            case .success: state.throttle.recordSuccess()
            case .endpointFailure, .neutral:
                if chargesRetryBudget ?? (outcome == .endpointFailure) { state.throttle.recordFailure() }
            case .notProcessed: break
            }
        }
    }

    /// The connection to `endpoint`, opened when needed. A failure to connect starts the
    /// endpoint's reconnect backoff and counts as an unprocessed call.
    func connection(to endpoint: Endpoint) async throws -> ClientConnection {
        let subchannel = self.subchannels.withLockedValue { subchannels in
            for existing in subchannels where existing.endpoint == endpoint { return existing }
            let created = Subchannel(endpoint: endpoint, tls: self.tls, configuration: self.connectionConfiguration)
            subchannels.append(created)
            return created
        }
        if let ready = subchannel.readyConnection { return ready }
        do {
            let connection = try await subchannel.connection()
            self.state.withLockedValue { $0.balancer.connected(to: endpoint) }
            return connection
        } catch let error as RPCError {
            self.state.withLockedValue { state in
                let jitter = Double.random(in: 0...1, using: &state.random)
                state.balancer.connectFailed(to: endpoint, now: .now, jitter: jitter)
            }
            throw UnprocessedCallError(error: error)
        }
    }

    // MARK: - Context propagation

    /// The call's deadline: its own timeout, shortened to what remains of the call being served.
    func deadline(for method: String, timeout: Duration) throws -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        var deadline = now + timeout
        if let inherited = ServerContext.current?.deadline {
            guard inherited > now else {
                throw RPCError(.deadlineExceeded, "deadline exceeded before calling \(method)")
            }
            deadline = min(deadline, inherited)
        }
        return deadline
    }

    /// The caller's metadata plus what travels from the call being served: the request id and
    /// the trace (a child span of the served call).
    func outgoingMetadata(_ metadata: [String: String]) -> [String: String] {
        guard let served = ServerContext.current else { return metadata }
        var metadata = metadata
        if metadata["x-request-id"] == nil { metadata["x-request-id"] = served.requestID }
        if metadata["traceparent"] == nil {
            if let trace = served.trace {
                metadata["traceparent"] = trace.child().traceparent
            } else if let inherited = served.metadata["traceparent"] {
                metadata["traceparent"] = inherited
            }
        }
        return metadata
    }

    /// Runs `body` inside the client interceptors, first outermost.
    func intercepted<Result: Sendable>(
        _ call: ClientCall,
        from index: Int = 0,
        _ body: (ClientCall) async throws -> Result
    ) async throws -> Result {
        let interceptors = self.configuration.interceptors
        guard index < interceptors.count else { return try await body(call) }
        return try await interceptors[index].intercept(call) { call in
            try await self.intercepted(call, from: index + 1, body)
        }
    }
}

/// What an `RPCClient` keeps under its one lock.
struct ChannelState: Sendable {
    var balancer: LoadBalancer
    var throttle: RetryThrottle
    var random = FastRandom()
}
