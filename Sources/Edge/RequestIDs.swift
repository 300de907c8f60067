import HTTPTypes
import Hummingbird
import RPCKit

/// The id of each request: the caller's `X-Request-Id` when it is a sane token, else a new one.
/// It is echoed in the response, sent to the services as `x-request-id`, and names the request
/// in every log line and error body about it.
enum RequestIDs {
    static let header = HTTPField.Name("X-Request-Id")!

    /// The request's id: the caller's when acceptable, else a new UUID.
    static func id(of request: Request) -> String {
        Self.acceptable(request.headers[Self.header]) ?? RandomIDs.uuid()
    }

    /// A caller-supplied id is kept only when it is short and plain, so it is safe in logs.
    private static func acceptable(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({
                $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                    || (0x61...0x7A).contains($0)
            })
        else { return nil }
        return value
    }
}
