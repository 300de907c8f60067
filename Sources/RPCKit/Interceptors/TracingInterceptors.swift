internal import RPCCore

/// Server side of W3C trace propagation: continues the caller's trace from its `traceparent`
/// metadata, or starts a new one, and puts it in the context (so logs carry `trace.id` and calls
/// made while serving continue the trace with a child span).
public struct TracingServerInterceptor: RPCServerInterceptor {
    public init() {}

    public func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> RPCResponsePayload
    ) async throws -> RPCResponsePayload {
        var context = context
        if context.trace == nil {
            context.trace = context.metadata["traceparent"].flatMap(TraceContext.init(traceparent:)) ?? .newTrace()
        }
        return try await next(context)
    }
}

/// Client side of W3C trace propagation for calls made outside any served call: starts a trace
/// when there is none, so every call carries a `traceparent`. (Inside a served call the client
/// already sends a child span of the served call's trace.)
public struct TracingClientInterceptor: RPCClientInterceptor {
    public init() {}

    public func intercept<Result: Sendable>(
        _ call: ClientCall,
        next: (ClientCall) async throws -> Result
    ) async throws -> Result {
        var call = call
        if call.metadata["traceparent"] == nil {
            call.metadata["traceparent"] = TraceContext.newTraceparent()
        }
        return try await next(call)
    }
}
