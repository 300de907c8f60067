import HTTPTypes

/// Headers every API response carries, errors included: no caching of tenant data, no MIME
/// sniffing, no framing, HTTPS only, no referrer leaks. The API serves JSON only, so the content
/// security policy forbids everything. `EdgeResponder` appends them to every answer, after the
/// error mapping, so error bodies carry them too.
enum SecurityHeaders {
    /// Built once: creating a field name validates it, which is not free per response.
    static let fields: [HTTPField] = [
        HTTPField(name: .cacheControl, value: "no-store"),
        HTTPField(name: HTTPField.Name("X-Content-Type-Options")!, value: "nosniff"),
        HTTPField(name: HTTPField.Name("X-Frame-Options")!, value: "DENY"),
        HTTPField(name: HTTPField.Name("Strict-Transport-Security")!, value: "max-age=63072000"),
        HTTPField(name: HTTPField.Name("Referrer-Policy")!, value: "no-referrer"),
        HTTPField(name: .contentSecurityPolicy, value: "default-src 'none'; frame-ancestors 'none'"),
    ]
}
