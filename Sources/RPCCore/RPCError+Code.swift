extension RPCError {
    /// The canonical status codes, numbered as gRPC numbers them; the number is what
    /// `Status.code` carries on the wire (docs/PROTOCOL.md §4.7).
    ///
    /// RPCKit's own type, not the generated `Pixecom_Rpc_V1_Code`: it has exactly the 17 canonical
    /// codes, so no code a handler or a peer produces can be outside them. A number from the wire
    /// that names no canonical code reads as `.unknown` (`init(wireValue:)`); the transport
    /// converts to and from the generated enum where it builds generated messages.
    public enum Code: Int, Sendable, Hashable, CaseIterable {
        case ok = 0
        case cancelled = 1
        case unknown = 2
        case invalidArgument = 3
        case deadlineExceeded = 4
        case notFound = 5
        case alreadyExists = 6
        case permissionDenied = 7
        case resourceExhausted = 8
        case failedPrecondition = 9
        case aborted = 10
        case outOfRange = 11
        case unimplemented = 12
        case `internal` = 13
        case unavailable = 14
        case dataLoss = 15
        case unauthenticated = 16

        /// The code a `Status.code` number stands for. A number outside 0-16 (from a peer of a
        /// newer revision, or a broken one) is `.unknown`, so callers only ever see canonical codes.
        public init(wireValue: Int32) {
            self = Code(rawValue: Int(wireValue)) ?? .unknown
        }

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
            }
        }
    }
}
