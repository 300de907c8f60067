import HTTPTypes
import Hummingbird

/// CORS for an exact allowlist of origins (`PIXECOM_CORS_ORIGINS`). A request from an origin not
/// on the list gets no CORS headers, so the browser keeps the response from the page; preflight
/// requests from such origins are answered 403. Credentials (the refresh cookie) are allowed only
/// for listed origins, never with a wildcard.
struct CORSAllowlistMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = self.origins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else { return Response(status: .forbidden, headers: [.vary: "Origin"]) }
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
        var response = try await next(request, context)
        response.headers[.vary] = "Origin"
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After"
        }
        return response
    }
}
