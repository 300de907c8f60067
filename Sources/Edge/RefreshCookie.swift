import HTTPTypes
import Hummingbird

/// The refresh token in the browser: an HttpOnly cookie (scripts never see it), Secure (HTTPS
/// only), SameSite=Strict (never sent on requests started by other sites), scoped to the auth
/// routes so that no other request carries it.
enum RefreshCookie {
    static let name = "pixecom_refresh"
    static let path = "/v1/auth"

    static func set(_ token: String, maxAge: Int64) -> String {
        "\(name)=\(token); Path=\(path); Max-Age=\(max(0, maxAge)); HttpOnly; Secure; SameSite=Strict"
    }

    static var clear: String {
        "\(name)=; Path=\(path); Max-Age=0; HttpOnly; Secure; SameSite=Strict"
    }

    /// The token from the request's `Cookie` headers, if present.
    static func token(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name {
                    let value = String(trimmed[trimmed.index(after: equals)...])
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }
}
