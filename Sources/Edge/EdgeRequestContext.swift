import Hummingbird
import Logging

/// The request context of the Edge: Hummingbird's core storage plus the request id that ties the
/// HTTP request to the RPCs made for it and to every log line about it.
struct EdgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `EdgeResponder` before any route runs.
    var requestID: String = ""
    /// The IP address of the browser or script (the TCP peer, or the client a trusted proxy
    /// names), passed to services as `x-client-address` for login throttling and the audit log.
    let clientAddress: String
    /// The `authorization` metadata the services get for this request (an API key already
    /// exchanged for a token), once `RateLimiter` has worked it out; nil before, or when
    /// the request has no `Authorization` header or the exchange failed (the route then tries
    /// again and reports the error).
    var authorization: String?

    init(source: Source) {
        self.init(source: source, clientAddress: source.channel.remoteAddress?.ipAddress ?? "")
    }

    /// A context whose client address the caller already knows (the connection's, worked out
    /// once rather than per request).
    init(source: Source, clientAddress: String) {
        self.coreContext = .init(source: source)
        self.clientAddress = clientAddress
    }
}
