import Hummingbird

/// Turns every error a route or the router throws into the JSON error body (`ErrorResponse`),
/// inside the router: the router itself would answer an `HTTPError` (an unknown route, a body
/// over the limit) with an empty body.
struct ErrorBodyMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorResponse.make(for: error, requestID: context.requestID, path: request.uri.path, logger: context.logger)
        }
    }
}
