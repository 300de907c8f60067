import HTTPTypes
import Hummingbird
import RPCKit

/// Cross-site request forgery protection for the routes a cookie authenticates (refresh and
/// logout): besides the cookie's SameSite=Strict, such a request must carry the custom header
/// `X-PixEcom-CSRF: 1`, which a page on another site cannot add without a CORS preflight that the
/// allowlist refuses, and must not be marked `Sec-Fetch-Site: cross-site` by the browser.
enum CSRFCheck {
    static let header = HTTPField.Name("X-PixEcom-CSRF")!
    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// Throws PERMISSION_DENIED (HTTP 403) naming the header when the request fails the check.
    static func require(_ request: Request) throws {
        if request.headers[Self.fetchSite]?.lowercased() == "cross-site" {
            throw RPCError(.permissionDenied, "cross-site requests may not use the refresh cookie")
        }
        guard request.headers[Self.header] == "1" else {
            throw RPCError(
                .permissionDenied,
                "X-PixEcom-CSRF: requests authenticated by the refresh cookie must send the header X-PixEcom-CSRF: 1"
            )
        }
    }
}
