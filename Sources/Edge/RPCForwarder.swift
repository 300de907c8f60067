import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import RPCKit
import ServiceKit
import SwiftProtobuf

/// Translates an HTTP request into one RPC and the RPC's answer back into JSON, following the
/// proto3 JSON mapping (camelCase names, int64 as strings, enums by name, defaults omitted).
///
/// The Edge holds no business rules: it carries the caller's `Authorization` header, request id,
/// `traceparent` and `Idempotency-Key` to the service as metadata, and the service decides.
struct RPCForwarder: Sendable {
    /// The deadline of each RPC.
    let timeout: Duration
    /// Largest request body accepted; larger ones get 413.
    let maxBodyBytes: Int
    /// Largest body of an asset upload route.
    let maxUploadBytes: Int
    /// Exchanges API keys presented as bearer tokens.
    let apiKeys: ApiKeyExchanger

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let traceparent = HTTPField.Name("traceparent")!

    /// The request body as message `M`; an empty body is the empty message. The body must be JSON
    /// (`Content-Type: application/json`), which also keeps plain HTML forms from other sites out.
    func body<M: SwiftProtobuf.Message>(_ type: M.Type, of request: Request, context: EdgeRequestContext) async throws -> M {
        var request = request
        let buffer = try await request.collectBody(upTo: self.maxBodyBytes)
        return try self.decode(M.self, body: buffer, headers: request.headers)
    }

    /// Decodes an already collected JSON body (see `body(_:of:context:)`).
    func decode<M: SwiftProtobuf.Message>(_ type: M.Type, body buffer: ByteBuffer, headers: HTTPFields) throws -> M {
        let bytes = buffer.readableBytesView
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return M()
        }
        guard let contentType = headers[.contentType],
            contentType.lowercased().hasPrefix("application/json")
        else {
            throw RPCError.invalidArgument(field: "Content-Type", "must be application/json")
        }
        var options = JSONDecodingOptions()
        options.messageDepthLimit = 32
        options.ignoreUnknownFields = false
        let json = Array(bytes)
        do {
            return try M(jsonUTF8Bytes: json, options: options)
        } catch let error as JSONDecodingError {
            throw JSONBodyDiagnosis<M>.error(for: error, body: json, options: options)
        } catch {
            throw RPCError.invalidArgument(field: "body", "is not valid JSON")
        }
    }

    /// Makes the RPC for this HTTP request.
    func call<Input: SwiftProtobuf.Message, Reply: SwiftProtobuf.Message>(
        _ client: RPCClient,
        _ method: String,
        _ message: Input,
        as: Reply.Type = Reply.self,
        http request: Request,
        context: EdgeRequestContext
    ) async throws -> Reply {
        let metadata = try await self.metadata(for: request, context: context)
        // A call with an idempotency key to a method that deduplicates by it may be retried.
        let keyed = metadata["idempotency-key"].map { !$0.isEmpty } == true && KeyedIdempotentMethods.all.contains(method)
        let idempotent: Bool? = keyed ? true : nil
        return try await client.unary(method, message, as: Reply.self, metadata: metadata, timeout: self.timeout, idempotent: idempotent)
    }

    /// What the edge carries to the service: request id, client address, the caller's token (an
    /// API key exchanged for one), Idempotency-Key and traceparent.
    func metadata(for request: Request, context: EdgeRequestContext) async throws -> [String: String] {
        // Sized for every entry below (and the client's traceparent): no regrowth.
        var metadata = [String: String](minimumCapacity: 6)
        metadata["x-request-id"] = context.requestID
        metadata["x-client-address"] = context.clientAddress
        if let authorization = context.authorization {
            metadata["authorization"] = authorization
        } else if let authorization = request.headers[.authorization] {
            metadata["authorization"] = try await self.apiKeys.authorization(for: authorization, requestID: context.requestID)
        }
        if let key = request.headers[Self.idempotencyKey] {
            metadata["idempotency-key"] = key
        }
        if let trace = request.headers[Self.traceparent] {
            metadata["traceparent"] = trace
        }
        return metadata
    }

    /// A JSON response of `message`.
    func json(_ message: some SwiftProtobuf.Message, status: HTTPResponse.Status = .ok) throws -> Response {
        var body = ByteBufferAllocator().buffer(capacity: 512)
        try ProtoJSONWriter.write(message, into: &body)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: body))
    }
}
