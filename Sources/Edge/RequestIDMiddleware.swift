import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RPCKit

/// Gives every request an id (the caller's `X-Request-Id` when it is a sane token, else a new
/// one), echoes it in the response, names it in the log of a failed request, and turns every error into
/// the JSON error body of `ErrorResponse`. Errors that are not statuses are logged and answered
/// 500 without their description, so internals never reach a caller.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = Self.acceptable(request.headers[Self.header]) ?? RandomIDs.uuid()
        context.requestID = requestID
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as RPCError {
            response = ErrorResponse.make(error, requestID: requestID)
        } catch let error as any RPCErrorConvertible where error.rpcError != nil {
            response = ErrorResponse.make(error.rpcError!, requestID: requestID)
        } catch let error as any HTTPResponseError {
            response = ErrorResponse.make(error, requestID: requestID, path: request.uri.path)
        } catch {
            context.logger.error(
                "edge.request.failed", metadata: ["request.id": "\(requestID)", "error": "\(String(reflecting: error))"])
            response = ErrorResponse.make(RPCError(.internal, "internal error (request id \(requestID))"), requestID: requestID)
        }
        response.headers[Self.header] = requestID
        return response
    }

    /// A caller-supplied id is kept only when it is short and plain, so it is safe in logs.
    private static func acceptable(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return nil }
        return value
    }
}
