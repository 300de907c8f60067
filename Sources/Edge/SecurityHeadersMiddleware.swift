import HTTPTypes
import Hummingbird

/// Headers every API response carries: no caching of tenant data, no MIME sniffing, no framing,
/// HTTPS only, no referrer leaks. The API serves JSON only, so the content security policy
/// forbids everything.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=63072000"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        return response
    }
}
