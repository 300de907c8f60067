import PixEcomProtos

/// The canonical status codes (the gRPC numbering), as carried in `Status.code` on the wire.
public typealias RPCCode = Pixecom_Rpc_V1_Code

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

    public var code: RPCCode
    public var message: String
    public var fieldViolations: [FieldViolation]
    /// For throttling or overload: how long the caller should wait before trying again.
    public var retryDelayMillis: UInt64?

    public init(
        _ code: RPCCode,
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

    /// The wire form.
    public var status: Pixecom_Rpc_V1_Status {
        var status = Pixecom_Rpc_V1_Status()
        status.code = self.code
        status.message = self.message
        status.fieldViolations = self.fieldViolations.map {
            var violation = Pixecom_Rpc_V1_FieldViolation()
            violation.field = $0.field
            violation.description_p = $0.description
            return violation
        }
        if let delay = self.retryDelayMillis {
            status.retryInfo.retryDelayMillis = delay
        }
        return status
    }

    /// Rebuilds the error from its wire form.
    public init(status: Pixecom_Rpc_V1_Status) {
        self.code = RPCCode.canonical(status.code.rawValue)
        self.message = status.message
        self.fieldViolations = status.fieldViolations.map {
            FieldViolation(field: $0.field, description: $0.description_p)
        }
        self.retryDelayMillis = status.hasRetryInfo ? status.retryInfo.retryDelayMillis : nil
    }
}

/// An error that knows which status it should end a call with. The server answers such errors
/// with their `rpcError` instead of INTERNAL, so layers that wrap errors (a database transaction
/// wrapping the error thrown inside it, say) keep the status of the error they wrap.
public protocol RPCErrorConvertible: Error {
    /// The status to answer with, or nil to answer INTERNAL.
    var rpcError: RPCError? { get }
}

extension RPCCode {
    /// The canonical upper-case name, e.g. `DEADLINE_EXCEEDED`.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        case .UNRECOGNIZED(let value): "CODE_\(value)"
        }
    }
}
