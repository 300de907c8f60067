import Hummingbird
import Logging

/// The request context of the Edge: Hummingbird's core storage plus the request id that ties the
/// HTTP request to the RPCs made for it and to every log line about it.
struct EdgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `RequestIDMiddleware` before any route runs.
    var requestID: String = ""

    init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
