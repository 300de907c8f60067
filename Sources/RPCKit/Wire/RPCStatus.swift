import NIOCore

/// The status that ends a call (`pixecom.rpc.v1.Status`): a canonical code, a message and the
/// structured details. OK is a status too; every other code is also an `RPCError`.
struct RPCStatus: Sendable, Hashable {
    var code: RPCCode
    var message: String
    var fieldViolations: [RPCError.FieldViolation]
    var retryDelayMillis: UInt64?
    /// The server refused the call before any handler ran: safe to send again anywhere.
    var notProcessed = false

    static let ok = RPCStatus(code: .ok, message: "", fieldViolations: [], retryDelayMillis: nil)

    /// A `code` outside the canonical set (0-16: a handler passing on a number it was given, say)
    /// becomes UNKNOWN, so the wire only ever carries canonical codes (PROTOCOL.md §4.7).
    init(code: RPCCode, message: String, fieldViolations: [RPCError.FieldViolation], retryDelayMillis: UInt64?) {
        self.code = RPCCode.canonical(code.rawValue)
        self.message = message
        self.fieldViolations = fieldViolations
        self.retryDelayMillis = retryDelayMillis
    }

    init(_ error: RPCError) {
        self.init(
            code: error.code, message: error.message, fieldViolations: error.fieldViolations, retryDelayMillis: error.retryDelayMillis)
    }

    var error: RPCError {
        RPCError(self.code, self.message, fieldViolations: self.fieldViolations, retryDelayMillis: self.retryDelayMillis)
    }

    var encodedSize: Int {
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

    /// The code as a protobuf `int32` varint: a negative number is sign-extended to 64 bits (10
    /// bytes), as protobuf encodes it. `init` keeps codes canonical, so this is belt and braces:
    /// `code` is a `var`, and no value of it may trap.
    private var wireCode: UInt64 {
        UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: self.code.rawValue)))
    }

    private static func violationSize(_ violation: RPCError.FieldViolation) -> Int {
        ProtobufWire.stringFieldSize(1, violation.field) + ProtobufWire.stringFieldSize(2, violation.description)
    }

    func write(to buffer: inout ByteBuffer) {
        ProtobufWire.writeVarintField(1, self.wireCode, to: &buffer)
        ProtobufWire.writeStringField(2, self.message, to: &buffer)
        for violation in self.fieldViolations {
            ProtobufWire.writeMessageHeader(3, length: Self.violationSize(violation), to: &buffer)
            ProtobufWire.writeStringField(1, violation.field, to: &buffer)
            ProtobufWire.writeStringField(2, violation.description, to: &buffer)
        }
        if let delay = self.retryDelayMillis {
            ProtobufWire.writeMessageHeader(4, length: ProtobufWire.varintFieldSize(field: 1, delay), to: &buffer)
            ProtobufWire.writeVarintField(1, delay, to: &buffer)
        }
        if self.notProcessed { ProtobufWire.writeVarintField(5, 1, to: &buffer) }
    }

    static func decode(_ reader: inout ProtobufReader) throws(ProtobufWireError) -> RPCStatus {
        var status = RPCStatus(code: .ok, message: "", fieldViolations: [], retryDelayMillis: nil)
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case 1:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                let raw = try reader.readVarint()
                status.code = RPCCode.canonical(Int(Int32(truncatingIfNeeded: raw)))
            case 2:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                status.message = try reader.readString()
            case 3:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var inner = ProtobufReader(try reader.readLengthDelimited())
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
                var inner = ProtobufReader(try reader.readLengthDelimited())
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

extension RPCCode {
    /// The canonical code with this number; UNKNOWN for a number outside the canonical set (a
    /// peer from a newer revision, or a broken one), so callers only ever see canonical codes.
    static func canonical(_ rawValue: Int) -> RPCCode {
        guard let code = RPCCode(rawValue: rawValue) else { return .unknown }
        if case .UNRECOGNIZED = code { return .unknown }
        return code
    }
}
