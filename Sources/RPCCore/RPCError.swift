/// The one error type of RPCKit: a canonical code, a human-readable message and structured details.
///
/// Handlers throw it to end a call with a status; clients receive it when a call ends with a status
/// other than OK. Any other error thrown by a handler is answered as `INTERNAL` without its
/// description, so internal details never reach a caller.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One bad input field: which field, and what was wrong with it.
    public struct FieldViolation: Sendable, Hashable {
        public var field: String
        public var description: String

        public init(field: String, description: String) {
            self.field = field
            self.description = description
        }
    }

    public var code: Code
    public var message: String
    public var fieldViolations: [FieldViolation]
    /// For throttling or overload: how long the caller should wait before trying again.
    public var retryDelayMillis: UInt64?

    public init(
        _ code: Code,
        _ message: String,
        fieldViolations: [FieldViolation] = [],
        retryDelayMillis: UInt64? = nil
    ) {
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
        self.retryDelayMillis = retryDelayMillis
    }

    /// An `INVALID_ARGUMENT` error naming one field.
    public static func invalidArgument(field: String, _ problem: String) -> RPCError {
        RPCError(
            .invalidArgument,
            "\(field): \(problem)",
            fieldViolations: [FieldViolation(field: field, description: problem)]
        )
    }

    /// An `INVALID_ARGUMENT` error naming every violated field.
    public static func invalidArgument(_ violations: [FieldViolation]) -> RPCError {
        let summary = violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        return RPCError(.invalidArgument, summary, fieldViolations: violations)
    }

    public static func notFound(_ what: String) -> RPCError {
        RPCError(.notFound, "\(what) not found")
    }

    public var description: String {
        "\(self.code.name): \(self.message)"
    }
}

/// An error that knows which status it should end a call with. The server answers such errors
/// with their `rpcError` instead of INTERNAL, so layers that wrap errors (a database transaction
/// wrapping the error thrown inside it, say) keep the status of the error they wrap.
public protocol RPCErrorConvertible: Error {
    /// The status to answer with, or nil to answer INTERNAL.
    var rpcError: RPCError? { get }
}
