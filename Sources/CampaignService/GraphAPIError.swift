import Foundation

/// An error as Meta's Graph API answers one (`{"error": {...}}` with HTTP 400 and friends), and
/// what the service reads from it. The sandbox platform answers its refusals in this shape and
/// reads them back through `AdPlatformError(graphResponse:field:)`, as the Meta adapter will.
///
/// Codes (Meta's "Handling Errors" and Marketing API pages): 1 and 2 the API is unavailable; 4,
/// 17, 32, 613 and 80000-80014 throttling (17/2446079 "User request limit reached", 613/1487742
/// too many calls from an ad account); 100 an invalid parameter, with subcode 33 an object that
/// does not exist or cannot be seen; 190 an invalid or expired access token (subcode 463 expired,
/// 467 invalid).
struct GraphAPIError: Codable, Sendable, Equatable {
    var message: String
    var type: String
    var code: Int
    var errorSubcode: Int?
    var errorUserTitle: String?
    var errorUserMsg: String?
    var fbtraceID: String

    enum CodingKeys: String, CodingKey {
        case message, type, code
        case errorSubcode = "error_subcode"
        case errorUserTitle = "error_user_title"
        case errorUserMsg = "error_user_msg"
        case fbtraceID = "fbtrace_id"
    }

    private struct Envelope: Codable {
        var error: GraphAPIError
    }

    /// Meta's error for a refusal of `code`, `detail` being what the user is told.
    init(_ code: AdPlatformError.Code, detail: String) {
        self.fbtraceID = Self.mintTraceID()
        self.errorUserMsg = detail
        switch code {
        case .invalidParameter, .invalidState:
            (self.code, self.type, self.message, self.errorUserTitle) = (100, "OAuthException", "Invalid parameter", "Invalid parameter")
        case .objectNotFound:
            (self.code, self.errorSubcode, self.type) = (100, 33, "GraphMethodException")
            self.message = "Unsupported request. \(detail)"
        case .rateLimited:
            (self.code, self.errorSubcode, self.type, self.message) = (17, 2_446_079, "OAuthException", "User request limit reached")
        case .invalidToken:
            (self.code, self.errorSubcode, self.type) = (190, 467, "OAuthException")
            self.message = "Invalid OAuth access token - Cannot parse access token"
        case .unavailable:
            (self.code, self.type, self.message) = (
                2, "OAuthException", "An unexpected error has occurred. Please retry your request later."
            )
        }
    }

    /// The response body Meta would send.
    var responseBody: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Envelope(error: self))) ?? Data()
    }

    /// The error of a Graph API response body; nil when the body is not one.
    static func parse(_ body: Data) -> GraphAPIError? {
        try? JSONDecoder().decode(Envelope.self, from: body).error
    }

    /// What kind of refusal the codes mean.
    var kind: AdPlatformError.Code {
        switch self.code {
        case 1, 2: .unavailable
        case 4, 17, 32, 613, 80_000...80_014: .rateLimited
        case 190: .invalidToken
        case 100 where self.errorSubcode == 33: .objectNotFound
        case 100: .invalidParameter
        default: .invalidState
        }
    }

    /// "(#100/33)": the codes as Meta's messages print them, for the seller and support.
    var codes: String {
        self.errorSubcode.map { "(#\(self.code)/\($0))" } ?? "(#\(self.code))"
    }

    /// An id like Meta's fbtrace_id (11 characters of base64url).
    private static func mintTraceID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        return String((0..<11).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

extension AdPlatformError {
    /// The refusal a Graph API error body carries; `field` names the request field it is about.
    /// A body that is no Graph error is the platform failing (`unavailable`).
    init(graphResponse body: Data, field: String? = nil, retryAfter: Duration? = nil) {
        guard let graph = GraphAPIError.parse(body) else {
            self.init(.unavailable, "the platform answered an error that is not a Graph API error")
            return
        }
        self.init(graph.kind, graph.errorUserMsg ?? graph.message, field: field, retryAfter: retryAfter)
        self.graph = graph
    }

    /// The sandbox's refusals: Meta's error body, read back as the adapter reads Meta's.
    static func graph(_ code: Code, _ detail: String, field: String? = nil, retryAfter: Duration? = nil) -> AdPlatformError {
        AdPlatformError(graphResponse: GraphAPIError(code, detail: detail).responseBody, field: field, retryAfter: retryAfter)
    }
}
