import HTTPTypes
import Hummingbird
import Logging
import RPCKit

/// The edge's front, around the router: every request gets its id, passes CORS and the rate
/// limits, is routed, and every answer, an error or not, leaves as a response with the request id,
/// the CORS headers and the security headers.
///
/// One plain function rather than a chain of router middlewares, each of which would be an
/// existential, generic async call copying the request and its context.
struct EdgeResponder: Sendable {
    let routes: RouterResponder<EdgeRequestContext>
    /// With no origins configured, every preflight is refused and no answer has CORS headers.
    let cors: CORSAllowlist
    let limits: RateLimiter

    /// The response to `request`; never throws: errors are answered in the JSON error body.
    /// `bodyTooLarge`: the body was over the limit and has been dropped (answered 413).
    func respond(to request: Request, context: EdgeRequestContext, bodyTooLarge: Bool) async -> Response {
        var context = context
        let requestID = RequestIDs.id(of: request)
        context.requestID = requestID
        var response: Response
        if let preflight = self.cors.preflight(request, requestID: requestID) {
            response = preflight
        } else {
            do {
                if bodyTooLarge { throw HTTPError(.contentTooLarge) }
                try await self.limits.admit(request, context: &context)
                response = try await self.routes.respond(to: request, context: context)
            } catch {
                response = ErrorResponse.make(for: error, requestID: requestID, path: request.uri.path, logger: context.logger)
            }
        }
        self.cors.decorate(&response, for: request)
        Self.addHeaders(to: &response, requestID: requestID)
        return response
    }

    /// The answer to a request that could not be read as one.
    func answer(_ error: RPCError, requestID: String) -> Response {
        var response = ErrorResponse.make(error, requestID: requestID)
        Self.addHeaders(to: &response, requestID: requestID)
        return response
    }

    private static func addHeaders(to response: inout Response, requestID: String) {
        // No route sets these, so they are appended rather than searched for and replaced.
        response.headers.append(HTTPField(name: RequestIDs.header, value: requestID))
        response.headers.append(contentsOf: SecurityHeaders.fields)
    }
}
