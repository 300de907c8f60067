public import Logging
public import RPCCore

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// Fully qualified method, e.g. `pixecom.auth.v1.AuthService/Login`.
    public let method: String
    /// Request metadata with lower-case keys.
    public let metadata: [String: String]
    /// When the caller stops waiting; calls made while serving inherit what remains of it.
    public let deadline: ContinuousClock.Instant?
    /// The calling service, proven by its client certificate (e.g. `orders`, `edge`).
    public let peerService: String?
    /// The request id that ties log lines of one request together across services: the
    /// caller's, or one made here.
    public var requestID: String { self.givenRequestID ?? RequestID.format(self.requestNumber) }
    private let givenRequestID: String?
    private let requestNumber: UInt64
    /// The W3C trace context of this call (set by `TracingServerInterceptor`); calls made while serving
    /// continue the trace.
    public var trace: TraceContext?
    /// Who the caller is, as an access-control interceptor established it (e.g. a verified
    /// token), for the handler to read without checking again. RPCKit does not interpret it.
    public var caller: (any AnyObject & Sendable)?
    let baseLogger: Logger

    public init(
        method: String,
        metadata: [String: String],
        deadline: ContinuousClock.Instant?,
        peerService: String?,
        requestID: String,
        logger: Logger,
        trace: TraceContext? = nil
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peerService = peerService
        self.givenRequestID = requestID
        self.requestNumber = 0
        self.baseLogger = logger
        self.trace = trace
    }

    /// A context whose request id is the caller's when given, else made from `requestNumber`
    /// when first read.
    init(
        method: String,
        metadata: [String: String],
        deadline: ContinuousClock.Instant?,
        peerService: String?,
        givenRequestID: String?,
        requestNumber: UInt64,
        logger: Logger
    ) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peerService = peerService
        self.givenRequestID = givenRequestID
        self.requestNumber = requestNumber
        self.baseLogger = logger
        self.trace = nil
    }

    /// A logger carrying `request.id`, `rpc.method`, `rpc.peer` and `trace.id` metadata. Built on
    /// use, so a call that logs nothing pays nothing for it.
    public var logger: Logger {
        var logger = self.baseLogger
        logger[metadataKey: "request.id"] = "\(self.requestID)"
        logger[metadataKey: "rpc.method"] = "\(self.method)"
        if let peer = self.peerService {
            logger[metadataKey: "rpc.peer"] = "\(peer)"
        }
        if let trace = self.trace {
            logger[metadataKey: "trace.id"] = "\(trace.traceID)"
            logger[metadataKey: "span.id"] = "\(trace.spanID)"
        }
        return logger
    }

    /// The bearer token of the `authorization` metadata entry, if any.
    public var bearerToken: String? {
        guard let value = self.metadata["authorization"] else { return nil }
        let prefix = "Bearer "
        guard value.hasPrefix(prefix) else { return nil }
        return String(value.dropFirst(prefix.count))
    }

    /// Time left before the deadline, if there is one.
    public var remainingTime: Duration? {
        self.deadline.map { $0 - .now }
    }

    /// The call being served by the current task, if any. Outbound calls read it to propagate the
    /// deadline, the request id and the trace context.
    @TaskLocal public static var current: ServerContext?
}
