public import RPCCore

/// Settings of a client channel to one service.
public struct RPCClientConfiguration: Sendable {
    /// The service's replicas. A host that is a DNS name counts as every address it resolves to,
    /// re-resolved every `resolutionInterval` while the client's `run()` is running.
    public var endpoints: [Endpoint]
    /// The service name the server certificate must carry, e.g. `stats` for
    /// `stats.pixecom.internal`.
    public var serverService: String
    /// Applied to a unary call when the caller gives no timeout (an inherited deadline, when
    /// earlier, still wins). Default 30 s.
    public var defaultTimeout: Duration = .seconds(30)
    public var connectTimeout: Duration = .seconds(5)
    /// The largest response frame accepted. Default 4 MiB.
    public var maxFrameSize: Int = 4 * 1024 * 1024
    /// Methods that may run twice without harm (reads, upserts, calls carrying an idempotency
    /// key): only these are retried after a failure that may have reached the server.
    public var idempotentMethods: Set<String> = []
    public var retryPolicy = RetryPolicy()
    public var retryThrottle = RetryThrottle()
    public var loadBalancer = LoadBalancer.Configuration()
    /// How often `run()` asks each endpoint's health service. Default 5 s.
    public var healthCheckInterval: Duration = .seconds(5)
    /// How long a health check may take before the endpoint counts as NOT_SERVING. Default 2 s.
    public var healthCheckTimeout: Duration = .seconds(2)
    /// How often `run()` re-resolves DNS names. Default 30 s.
    public var resolutionInterval: Duration = .seconds(30)
    /// Keepalive: ping after this long without reading, close when nothing arrives within the
    /// timeout after. Defaults 10 s and 5 s: a dead replica is noticed within 15 s even when idle.
    public var keepaliveInterval: Duration = .seconds(10)
    public var keepaliveTimeout: Duration = .seconds(5)
    /// Server-streaming credit: messages the server may send ahead of the reader. Default 16.
    public var streamWindow: Int = 16
    /// Wrap every call, first outermost.
    public var interceptors: [any RPCClientInterceptor] = []

    public init(endpoints: [Endpoint], serverService: String) {
        self.endpoints = endpoints
        self.serverService = serverService
    }
}

/// What a client interceptor sees of a call.
public struct ClientCall: Sendable {
    /// Fully qualified method.
    public let method: String
    /// Metadata sent with the call; interceptors may add to it.
    public var metadata: [String: String]
    /// The service called, e.g. `orders`.
    public let service: String
}

/// Wraps every call a client makes (once per call, around all its attempts): logging, metrics,
/// tracing, credentials. Interceptors run in the order given, the first outermost.
public protocol RPCClientInterceptor: Sendable {
    func intercept<Result: Sendable>(
        _ call: ClientCall,
        next: (ClientCall) async throws -> Result
    ) async throws -> Result
}
