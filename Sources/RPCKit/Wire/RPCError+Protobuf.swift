public import PixEcomProtos
public import RPCCore

/// The conversions between RPCKit's status types and the generated `pixecom.rpc.v1` messages,
/// for code that builds or reads those messages (the Edge, tests, other clients). The envelope
/// codec itself writes `RPCError.Code`'s number directly (`RPCStatus`).
extension RPCError {
    /// The wire form.
    public var status: Pixecom_Rpc_V1_Status {
        var status = Pixecom_Rpc_V1_Status()
        status.code = Pixecom_Rpc_V1_Code(self.code)
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
        self.init(
            Code(status.code),
            status.message,
            fieldViolations: status.fieldViolations.map { FieldViolation(field: $0.field, description: $0.description_p) },
            retryDelayMillis: status.hasRetryInfo ? status.retryInfo.retryDelayMillis : nil
        )
    }
}

extension RPCError.Code {
    /// The code a generated `Code` stands for; a number outside the canonical set is `.unknown`.
    public init(_ code: Pixecom_Rpc_V1_Code) {
        self.init(wireValue: Int32(truncatingIfNeeded: code.rawValue))
    }
}

extension Pixecom_Rpc_V1_Code {
    /// The generated enum's case for a canonical code (the same number).
    public init(_ code: RPCError.Code) {
        self = Pixecom_Rpc_V1_Code(rawValue: code.rawValue) ?? .unknown
    }
}
