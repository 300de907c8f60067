/// One frame of the protocol (`pixecom.rpc.v1.Frame`), in the form RPCKit works with, and its
/// codec: a frame is a 4-byte big-endian length, then the `Frame` message.
///
/// Generic over the transport's bytes (`WireBytes`) so that payloads are slices of the received
/// buffer; the codec is `@inlinable` so that it is specialised for them in the transport.
public enum WireFrame<Bytes: WireBytes>: Sendable {
    /// The opening of a call, client to server; `callID` is the client's (odd, non-zero).
    case request(callID: UInt64, WireRequest<Bytes>)
    /// `status` nil: one message of a stream. `status` set: the end of the call (with the response
    /// message of a unary call in `payload`).
    case response(callID: UInt64, payload: Bytes, status: RPCStatus?)
    case cancel(callID: UInt64)
    case goAway(lastCallID: UInt64, reason: String)
    case ping(opaque: UInt64)
    case pong(opaque: UInt64)
    case windowUpdate(callID: UInt64, messages: UInt32)
    /// A frame kind from a newer revision of the protocol: ignored.
    case unknown(callID: UInt64)

    // Field numbers of `Frame`.
    @inlinable static var callIDField: Int { 1 }
    @inlinable static var requestField: Int { 2 }
    @inlinable static var responseField: Int { 3 }
    @inlinable static var cancelField: Int { 4 }
    @inlinable static var goAwayField: Int { 5 }
    @inlinable static var pingField: Int { 6 }
    @inlinable static var pongField: Int { 7 }
    @inlinable static var windowUpdateField: Int { 8 }

    @inlinable
    public var callID: UInt64 {
        switch self {
        case .request(let id, _), .response(let id, _, _), .cancel(let id), .windowUpdate(let id, _), .unknown(let id): id
        case .goAway, .ping, .pong: 0
        }
    }

    // MARK: - Encoding

    /// Appends the frame: the 4-byte big-endian length, then the `Frame` message, written in one
    /// pass into memory reserved for exactly its size.
    @inlinable
    public func write(to buffer: inout Bytes) {
        let bodySize = self.bodySize
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4 + bodySize) { memory in
            var writer = ProtobufWriter(memory)
            writer.writeUInt32(UInt32(bodySize))
            self.writeBody(to: &writer)
            precondition(writer.offset == 4 + bodySize, "frame size computed wrongly")
            return writer.offset
        }
    }

    @inlinable
    func writeBody(to writer: inout ProtobufWriter) {
        writer.writeVarintField(Self.callIDField, self.callID)
        switch self {
        case .request(_, let request):
            writer.writeMessageHeader(Self.requestField, length: request.encodedSize)
            request.write(to: &writer)
        case .response(_, let payload, let status):
            let size = Self.responseSize(payload: payload, status: status)
            writer.writeMessageHeader(Self.responseField, length: size)
            writer.writeBytesField(1, payload)
            if let status {
                writer.writeMessageHeader(2, length: status.encodedSize)
                status.write(to: &writer)
            }
        case .cancel:
            writer.writeMessageHeader(Self.cancelField, length: 0)
        case .goAway(let lastCallID, let reason):
            let size = ProtobufWire.varintFieldSize(field: 1, lastCallID) + ProtobufWire.stringFieldSize(2, reason)
            writer.writeMessageHeader(Self.goAwayField, length: size)
            writer.writeVarintField(1, lastCallID)
            writer.writeStringField(2, reason)
        case .ping(let opaque), .pong(let opaque):
            let field = if case .ping = self { Self.pingField } else { Self.pongField }
            writer.writeMessageHeader(field, length: ProtobufWire.varintFieldSize(field: 1, opaque))
            writer.writeVarintField(1, opaque)
        case .windowUpdate(_, let messages):
            let size = ProtobufWire.varintFieldSize(field: 1, UInt64(messages))
            writer.writeMessageHeader(Self.windowUpdateField, length: size)
            writer.writeVarintField(1, UInt64(messages))
        case .unknown:
            break
        }
    }

    /// Size of the `Frame` message, without the 4-byte prefix.
    @inlinable
    public var bodySize: Int {
        let callID = ProtobufWire.varintFieldSize(field: Self.callIDField, self.callID)
        switch self {
        case .request(_, let request):
            return callID + ProtobufWire.lengthDelimitedSize(field: Self.requestField, length: request.encodedSize)
        case .response(_, let payload, let status):
            return callID
                + ProtobufWire.lengthDelimitedSize(field: Self.responseField, length: Self.responseSize(payload: payload, status: status))
        case .cancel:
            return callID + ProtobufWire.lengthDelimitedSize(field: Self.cancelField, length: 0)
        case .goAway(let lastCallID, let reason):
            let size = ProtobufWire.varintFieldSize(field: 1, lastCallID) + ProtobufWire.stringFieldSize(2, reason)
            return callID + ProtobufWire.lengthDelimitedSize(field: Self.goAwayField, length: size)
        case .ping(let opaque), .pong(let opaque):
            return callID + ProtobufWire.lengthDelimitedSize(field: Self.pingField, length: ProtobufWire.varintFieldSize(field: 1, opaque))
        case .windowUpdate(_, let messages):
            let size = ProtobufWire.varintFieldSize(field: 1, UInt64(messages))
            return callID + ProtobufWire.lengthDelimitedSize(field: Self.windowUpdateField, length: size)
        case .unknown:
            return callID
        }
    }

    @inlinable
    static func responseSize(payload: Bytes, status: RPCStatus?) -> Int {
        let payloadSize = payload.readableBytes == 0 ? 0 : ProtobufWire.lengthDelimitedSize(field: 1, length: payload.readableBytes)
        let statusSize = status.map { ProtobufWire.lengthDelimitedSize(field: 2, length: $0.encodedSize) } ?? 0
        return payloadSize + statusSize
    }

    // MARK: - Decoding

    /// Decodes one `Frame` body (without its length prefix). Unknown fields are skipped; a frame
    /// kind this version does not know decodes as `.unknown`. Payloads are slices of `body`.
    /// - Parameter methods: names to reuse for a request's method instead of a new `String`.
    @inlinable
    public static func decode(_ body: Bytes, methods: MethodNames? = nil) throws(ProtobufWireError) -> WireFrame {
        let decoded = body.withUnsafeReadableBytes { bytes in
            Result { () throws(ProtobufWireError) in try Self.decode(bytes, of: body, methods: methods) }
        }
        return try decoded.get()
    }

    /// Decodes the `Frame` message filling `bytes`, the readable bytes of `body`.
    @inlinable
    static func decode(
        _ bytes: UnsafeRawBufferPointer,
        of body: Bytes,
        methods: MethodNames?
    ) throws(ProtobufWireError) -> WireFrame {
        var reader = ProtobufReader(bytes)
        var callID: UInt64 = 0
        var kind: (field: Int, body: ProtobufReader)?
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case Self.callIDField:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                callID = try reader.readVarint()
            case Self.requestField...Self.windowUpdateField:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                kind = (field, try reader.readMessage())  // oneof: the last one wins
            default:
                try reader.skip(wireType: wireType)
            }
        }
        guard let kind else { return .unknown(callID: callID) }
        var inner = kind.body
        switch kind.field {
        case Self.requestField:
            return .request(callID: callID, try WireRequest.decode(&inner, of: body, methods: methods))
        case Self.responseField:
            var payload = Bytes()
            var status: RPCStatus?
            while let (field, wireType) = try inner.nextField() {
                switch field {
                case 1:
                    try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                    payload = body.slice(try inner.readLengthDelimited())
                case 2:
                    try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                    var statusReader = try inner.readMessage()
                    status = try RPCStatus.decode(&statusReader)
                default:
                    try inner.skip(wireType: wireType)
                }
            }
            return .response(callID: callID, payload: payload, status: status)
        case Self.cancelField:
            while let (_, wireType) = try inner.nextField() { try inner.skip(wireType: wireType) }
            return .cancel(callID: callID)
        case Self.goAwayField:
            var lastCallID: UInt64 = 0
            var reason = ""
            while let (field, wireType) = try inner.nextField() {
                switch field {
                case 1:
                    try ProtobufReader.expect(wireType, ProtobufWire.varint)
                    lastCallID = try inner.readVarint()
                case 2:
                    try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                    reason = try inner.readString()
                default:
                    try inner.skip(wireType: wireType)
                }
            }
            return .goAway(lastCallID: lastCallID, reason: reason)
        case Self.pingField, Self.pongField, Self.windowUpdateField:
            var value: UInt64 = 0
            while let (field, wireType) = try inner.nextField() {
                if field == 1 {
                    try ProtobufReader.expect(wireType, ProtobufWire.varint)
                    value = try inner.readVarint()
                } else {
                    try inner.skip(wireType: wireType)
                }
            }
            switch kind.field {
            case Self.pingField: return .ping(opaque: value)
            case Self.pongField: return .pong(opaque: value)
            default: return .windowUpdate(callID: callID, messages: UInt32(clamping: value))
            }
        default:
            return .unknown(callID: callID)
        }
    }
}
