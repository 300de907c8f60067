import HTTPTypes
import Hummingbird
import RPCKit

/// CORS for an exact allowlist of origins (`PIXECOM_CORS_ORIGINS`, possibly empty). A request from
/// an origin not on the list gets no CORS headers, so the browser keeps the response from the
/// page; a preflight from such an origin is answered 403 in the JSON error body, naming the
/// origin, rather than falling through to the router's 405 (no route has OPTIONS), so whoever
/// debugs the page sees why. Credentials (the refresh cookie) are allowed only for listed
/// origins, never with a wildcard. Every answer varies on `Origin` (a preflight's status, and
/// the CORS headers, depend on it), so shared caches never hand one origin's answer to another.
struct CORSAllowlist: Sendable {
    let origins: Set<String>

    /// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`); nil for
    /// any other request.
    func preflight(_ request: Request, requestID: String) -> Response? {
        guard request.method == .options, request.headers[.accessControlRequestMethod] != nil,
            let origin = request.headers[.origin]
        else { return nil }
        guard self.origins.contains(origin) else {
            let error = RPCError(
                .permissionDenied, "origin \(origin.prefix(200)) is not allowed to call this API from a browser (PIXECOM_CORS_ORIGINS)")
            return ErrorResponse.make(error, requestID: requestID, status: .forbidden)
        }
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
    /// page can read a 429 or a 401), and `Vary: Origin` to every answer.
    func decorate(_ response: inout Response, for request: Request) {
        response.headers[.vary] = "Origin"
        guard let origin = request.headers[.origin] else { return }
        if self.origins.contains(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After"
        }
    }
}
