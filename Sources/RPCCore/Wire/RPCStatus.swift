/// The status that ends a call (`pixecom.rpc.v1.Status`): a canonical code, a message and the
/// structured details. OK is a status too; every other code is also an `RPCError`.
public struct RPCStatus: Sendable, Hashable {
    public var code: RPCError.Code
    public var message: String
    public var fieldViolations: [RPCError.FieldViolation]
    public var retryDelayMillis: UInt64?
    /// The server refused the call before any handler ran: safe to send again anywhere.
    public var notProcessed = false

    public static let ok = RPCStatus(code: .ok, message: "", fieldViolations: [], retryDelayMillis: nil)

    public init(code: RPCError.Code, message: String, fieldViolations: [RPCError.FieldViolation], retryDelayMillis: UInt64?) {
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
        self.retryDelayMillis = retryDelayMillis
    }

    public init(_ error: RPCError) {
        self.init(
            code: error.code, message: error.message, fieldViolations: error.fieldViolations, retryDelayMillis: error.retryDelayMillis)
    }

    public var error: RPCError {
        RPCError(self.code, self.message, fieldViolations: self.fieldViolations, retryDelayMillis: self.retryDelayMillis)
    }

    // MARK: - Encoding

    public var encodedSize: Int {
        var size = ProtobufWire.varintFieldSize(field: 1, self.wireCode)
        size += ProtobufWire.stringFieldSize(2, self.message)
        for violation in self.fieldViolations {
            size += ProtobufWire.lengthDelimitedSize(field: 3, length: Self.violationSize(violation))
        }
        if let delay = self.retryDelayMillis {
            size += ProtobufWire.lengthDelimitedSize(field: 4, length: ProtobufWire.varintFieldSize(field: 1, delay))
        }
        if self.notProcessed { size += ProtobufWire.varintFieldSize(field: 5, 1) }
        return size
    }

    /// The code as the `int32` varint of `Status.code`: always one of 0-16, one byte.
    private var wireCode: UInt64 {
        UInt64(self.code.rawValue)
    }

    private static func violationSize(_ violation: RPCError.FieldViolation) -> Int {
        ProtobufWire.stringFieldSize(1, violation.field) + ProtobufWire.stringFieldSize(2, violation.description)
    }

    /// Writes the `Status` message (`encodedSize` bytes), without a tag or length.
    public func write(to writer: inout ProtobufWriter) {
        writer.writeVarintField(1, self.wireCode)
        writer.writeStringField(2, self.message)
        for violation in self.fieldViolations {
            writer.writeMessageHeader(3, length: Self.violationSize(violation))
            writer.writeStringField(1, violation.field)
            writer.writeStringField(2, violation.description)
        }
        if let delay = self.retryDelayMillis {
            writer.writeMessageHeader(4, length: ProtobufWire.varintFieldSize(field: 1, delay))
            writer.writeVarintField(1, delay)
        }
        if self.notProcessed { writer.writeVarintField(5, 1) }
    }

    // MARK: - Decoding

    /// Reads a `Status` message. A code outside the canonical set, whatever int32 it is, reads as
    /// UNKNOWN (`RPCError.Code(wireValue:)`).
    public static func decode(_ reader: inout ProtobufReader) throws(ProtobufWireError) -> RPCStatus {
        var status = RPCStatus(code: .ok, message: "", fieldViolations: [], retryDelayMillis: nil)
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case 1:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                let raw = try reader.readVarint()
                status.code = RPCError.Code(wireValue: Int32(truncatingIfNeeded: raw))
            case 2:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                status.message = try reader.readString()
            case 3:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var inner = try reader.readMessage()
                var violation = RPCError.FieldViolation(field: "", description: "")
                while let (innerField, innerType) = try inner.nextField() {
                    switch innerField {
                    case 1:
                        try ProtobufReader.expect(innerType, ProtobufWire.lengthDelimited)
                        violation.field = try inner.readString()
                    case 2:
                        try ProtobufReader.expect(innerType, ProtobufWire.lengthDelimited)
                        violation.description = try inner.readString()
                    default:
                        try inner.skip(wireType: innerType)
                    }
                }
                status.fieldViolations.append(violation)
            case 4:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var inner = try reader.readMessage()
                var delay: UInt64 = 0
                while let (innerField, innerType) = try inner.nextField() {
                    if innerField == 1 {
                        try ProtobufReader.expect(innerType, ProtobufWire.varint)
                        delay = try inner.readVarint()
                    } else {
                        try inner.skip(wireType: innerType)
                    }
                }
                status.retryDelayMillis = delay
            case 5:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                status.notProcessed = try reader.readVarint() != 0
            default:
                try reader.skip(wireType: wireType)
            }
        }
        return status
    }
}
