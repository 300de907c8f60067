import Foundation
import SwiftProtobuf

/// Maps method names to handlers. Handlers are ordinary async functions from a request message to
/// a response message; they end a call with a status by throwing `RPCError`.
public struct RPCRouter: Sendable {
    /// A handler working on serialized messages.
    public typealias RawHandler = @Sendable (Data, ServerContext) async throws -> Data

    private(set) var handlers: [String: RawHandler] = [:]

    public init() {}

    /// Registers a unary method. Registering the same name twice is a programming error.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String,
        _ request: Request.Type = Request.self,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        precondition(self.handlers[method] == nil, "method \(method) registered twice")
        self.handlers[method] = { payload, context in
            let message: Request
            do {
                message = try Request(serializedBytes: payload)
            } catch {
                throw RPCError(.invalidArgument, "request payload is not a valid \(Request.protoMessageName)")
            }
            let response = try await handler(message, context)
            return try response.serializedBytes()
        }
    }

    /// The names of all registered methods.
    public var methods: [String] { self.handlers.keys.sorted() }

    func handler(for method: String) -> RawHandler? { self.handlers[method] }
}
