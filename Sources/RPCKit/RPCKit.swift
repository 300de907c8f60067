/// RPCKit is the transport of PixEcom's RPC protocol on NIO and TLS: the server, the client, their
/// connections and channel handlers, TLS configuration and the interceptors.
///
/// The protocol itself (frames and their codec, status and errors, the connection and liveness
/// state machines, load balancing, retries and circuit breakers, deadlines, trace context, random
/// ids) is RPCCore, which does no I/O. RPCKit re-exports RPCCore, so that services write
/// `import RPCKit` alone and see `RPCError`, `TraceContext`, `Endpoint`, `RetryPolicy` and the
/// other core types as RPCKit's.
@_exported public import RPCCore
