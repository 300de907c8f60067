import HTTPTypes
import Hummingbird

/// Headers every API response carries, errors included: no caching of tenant data, no MIME
/// sniffing, no framing, HTTPS only, no referrer leaks. The API serves JSON only, so the content
/// security policy forbids everything. It runs outside `RequestIDMiddleware`, which turns errors
/// into responses, so error bodies carry the headers too.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    /// Built once: creating a field name validates it, which is not free per response.
    static let fields: [HTTPField] = [
        HTTPField(name: .cacheControl, value: "no-store"),
        HTTPField(name: HTTPField.Name("X-Content-Type-Options")!, value: "nosniff"),
        HTTPField(name: HTTPField.Name("X-Frame-Options")!, value: "DENY"),
        HTTPField(name: HTTPField.Name("Strict-Transport-Security")!, value: "max-age=63072000"),
        HTTPField(name: HTTPField.Name("Referrer-Policy")!, value: "no-referrer"),
        HTTPField(name: .contentSecurityPolicy, value: "default-src 'none'; frame-ancestors 'none'"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        // No route sets these, so they are appended rather than searched for and replaced.
        response.headers.append(contentsOf: Self.fields)
        return response
    }
}
