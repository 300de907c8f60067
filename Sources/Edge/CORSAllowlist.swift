import HTTPTypes
import Hummingbird

/// CORS for an exact allowlist of origins (`PIXECOM_CORS_ORIGINS`). A request from an origin not
/// on the list gets no CORS headers, so the browser keeps the response from the page; preflight
/// requests from such origins are answered 403. Credentials (the refresh cookie) are allowed only
/// for listed origins, never with a wildcard.
struct CORSAllowlist: Sendable {
    let origins: Set<String>

    /// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`); nil for
    /// any other request.
    func preflight(_ request: Request) -> Response? {
        guard request.method == .options, request.headers[.accessControlRequestMethod] != nil,
            let origin = request.headers[.origin]
        else { return nil }
        guard self.origins.contains(origin) else { return Response(status: .forbidden, headers: [.vary: "Origin"]) }
        return Response(
            status: .noContent,
            headers: [
                .accessControlAllowOrigin: origin,
                .accessControlAllowCredentials: "true",
                .accessControlAllowMethods: "GET, POST, PATCH, DELETE",
                .accessControlAllowHeaders: "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-PixEcom-CSRF, traceparent",
                .accessControlMaxAge: "600",
                .vary: "Origin",
            ]
        )
    }

    /// Adds the CORS headers to the answer of a request with an `Origin` (errors included, so a
    /// page can read a 429 or a 401).
    func decorate(_ response: inout Response, for request: Request) {
        guard let origin = request.headers[.origin] else { return }
        response.headers[.vary] = "Origin"
        if self.origins.contains(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After"
        }
    }
}
