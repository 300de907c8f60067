import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PixEcomProtos
import RPCKit

extension RPCError.Code {
    /// The HTTP status an RPC status maps to (the mapping of Google's API design guide and
    /// grpc-gateway, with 422 for a request that is well-formed but not acceptable now).
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .ok: .ok
        case .invalidArgument, .outOfRange: .badRequest
        case .failedPrecondition: .unprocessableContent
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notFound: .notFound
        case .alreadyExists, .aborted: .conflict
        case .resourceExhausted: .tooManyRequests
        case .cancelled: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        case .unimplemented: .notImplemented
        case .unavailable: .serviceUnavailable
        case .deadlineExceeded: .gatewayTimeout
        case .internal, .unknown, .dataLoss: .internalServerError
        }
    }
}

/// The JSON error body every failed request gets:
/// `{"error": {"code": "NOT_FOUND", "message": "...", "details": [{"field": ..., "description": ...}],
///  "requestId": "..."}}`, with `Retry-After` when the caller should wait.
enum ErrorResponse {
    /// The response for any error a request ended with. Errors that are neither statuses nor
    /// HTTP errors are logged and answered 500 without their description, so internals never
    /// reach a caller.
    static func make(for error: any Error, requestID: String, path: String, logger: Logger) -> Response {
        switch error {
        case let error as RPCError:
            return Self.make(error, requestID: requestID)
        case let error as any RPCErrorConvertible where error.rpcError != nil:
            return Self.make(error.rpcError!, requestID: requestID)
        case let error as any HTTPResponseError:
            return Self.make(error, requestID: requestID, path: path)
        default:
            logger.error("edge.request.failed", metadata: ["request.id": "\(requestID)", "error": "\(String(reflecting: error))"])
            return Self.make(RPCError(.internal, "internal error (request id \(requestID))"), requestID: requestID)
        }
    }

    static func make(_ error: RPCError, requestID: String, status: HTTPResponse.Status? = nil) -> Response {
        var body: [String: Any] = [
            "code": error.code.name,
            "message": error.message,
            "requestId": requestID,
        ]
        if !error.fieldViolations.isEmpty {
            body["details"] = error.fieldViolations.map { ["field": $0.field, "description": $0.description] }
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let delay = error.retryDelayMillis {
            let seconds = max(1, (delay + 999) / 1000)
            body["retryAfterSeconds"] = seconds
            headers[.retryAfter] = "\(seconds)"
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["error": body], options: [.sortedKeys])) ?? Data()
        return Response(
            status: status ?? error.code.httpStatus,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// An error raised by the HTTP layer itself (an unknown route, an oversized body), in the same
    /// shape as the errors of the services.
    static func make(_ error: any HTTPResponseError, requestID: String, path: String = "") -> Response {
        var status = error.status
        // The router answers 404 for a known path with another method: that is a 405, with the
        // methods the path does serve.
        let allowed = status.code == 404 ? OpenAPIDocument.methods(matching: path) : []
        if !allowed.isEmpty { status = .methodNotAllowed }
        let code: RPCError.Code
        let message: String
        switch status.code {
        case 404:
            (code, message) = (.notFound, "no such route")
        case 405:
            (code, message) = (.unimplemented, "method not allowed on this route")
        case 413:
            (code, message) = (.resourceExhausted, "request body is too large")
        case 400..<500:
            (code, message) = (.invalidArgument, status.reasonPhrase)
        default:
            (code, message) = (.internal, status.reasonPhrase)
        }
        var response = Self.make(RPCError(code, message), requestID: requestID, status: status)
        if !allowed.isEmpty { response.headers[.allow] = allowed.joined(separator: ", ") }
        return response
    }
}
