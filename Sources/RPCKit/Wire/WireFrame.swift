import NIOCore

/// The opening of a call, as carried in `Frame.request`.
struct WireRequest: Sendable {
    var method: String
    var metadata: [String: String]
    /// 0 means no deadline.
    var timeoutMicros: UInt64
    /// The serialized request message: a slice of the received bytes, not a copy.
    var payload: ByteBuffer
    /// Server-streaming credit granted up front; 0 means the default.
    var initialWindow: UInt32

    init(
        method: String, metadata: [String: String] = [:], timeoutMicros: UInt64 = 0, payload: ByteBuffer = ByteBuffer(),
        initialWindow: UInt32 = 0
    ) {
        self.method = method
        self.metadata = metadata
        self.timeoutMicros = timeoutMicros
        self.payload = payload
        self.initialWindow = initialWindow
    }
}

/// One frame of the protocol (`pixecom.rpc.v1.Frame`), in the form RPCKit works with.
enum WireFrame: Sendable {
    case request(callID: UInt64, WireRequest)
    /// `status` nil: one message of a stream. `status` set: the end of the call (with the response
    /// message of a unary call in `payload`).
    case response(callID: UInt64, payload: ByteBuffer, status: RPCStatus?)
    case cancel(callID: UInt64)
    case goAway(lastCallID: UInt64, reason: String)
    case ping(opaque: UInt64)
    case pong(opaque: UInt64)
    case windowUpdate(callID: UInt64, messages: UInt32)
    /// A frame kind from a newer revision of the protocol: ignored.
    case unknown(callID: UInt64)

    // Field numbers of `Frame`.
    private static let callIDField = 1
    private static let requestField = 2
    private static let responseField = 3
    private static let cancelField = 4
    private static let goAwayField = 5
    private static let pingField = 6
    private static let pongField = 7
    private static let windowUpdateField = 8

    var callID: UInt64 {
        switch self {
        case .request(let id, _), .response(let id, _, _), .cancel(let id), .windowUpdate(let id, _), .unknown(let id): id
        case .goAway, .ping, .pong: 0
        }
    }

    // MARK: - Encoding

    /// Appends the frame: the 4-byte big-endian length, then the `Frame` message.
    func write(to buffer: inout ByteBuffer) {
        let bodySize = self.bodySize
        buffer.reserveCapacity(minimumWritableBytes: 4 + bodySize)
        buffer.writeInteger(UInt32(bodySize))
        let start = buffer.writerIndex
        ProtobufWire.writeVarintField(Self.callIDField, self.callID, to: &buffer)
        switch self {
        case .request(_, let request):
            ProtobufWire.writeMessageHeader(Self.requestField, length: request.encodedSize, to: &buffer)
            request.write(to: &buffer)
        case .response(_, let payload, let status):
            let size = Self.responseSize(payload: payload, status: status)
            ProtobufWire.writeMessageHeader(Self.responseField, length: size, to: &buffer)
            ProtobufWire.writeBytesField(1, payload, to: &buffer)
            if let status {
                ProtobufWire.writeMessageHeader(2, length: status.encodedSize, to: &buffer)
                status.write(to: &buffer)
            }
        case .cancel:
            ProtobufWire.writeMessageHeader(Self.cancelField, length: 0, to: &buffer)
        case .goAway(let lastCallID, let reason):
            let size = ProtobufWire.varintFieldSize(field: 1, lastCallID) + ProtobufWire.stringFieldSize(2, reason)
            ProtobufWire.writeMessageHeader(Self.goAwayField, length: size, to: &buffer)
            ProtobufWire.writeVarintField(1, lastCallID, to: &buffer)
            ProtobufWire.writeStringField(2, reason, to: &buffer)
        case .ping(let opaque), .pong(let opaque):
            let field = if case .ping = self { Self.pingField } else { Self.pongField }
            ProtobufWire.writeMessageHeader(field, length: ProtobufWire.varintFieldSize(field: 1, opaque), to: &buffer)
            ProtobufWire.writeVarintField(1, opaque, to: &buffer)
        case .windowUpdate(_, let messages):
            let size = ProtobufWire.varintFieldSize(field: 1, UInt64(messages))
            ProtobufWire.writeMessageHeader(Self.windowUpdateField, length: size, to: &buffer)
            ProtobufWire.writeVarintField(1, UInt64(messages), to: &buffer)
        case .unknown:
            break
        }
        assert(buffer.writerIndex - start == bodySize, "frame size computed wrongly")
    }

    /// Size of the `Frame` message, without the 4-byte prefix.
    var bodySize: Int {
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

    private static func responseSize(payload: ByteBuffer, status: RPCStatus?) -> Int {
        let payloadSize = payload.readableBytes == 0 ? 0 : ProtobufWire.lengthDelimitedSize(field: 1, length: payload.readableBytes)
        let statusSize = status.map { ProtobufWire.lengthDelimitedSize(field: 2, length: $0.encodedSize) } ?? 0
        return payloadSize + statusSize
    }

    // MARK: - Decoding

    /// Decodes one `Frame` body (without its length prefix). Unknown fields are skipped; a frame
    /// kind this version does not know decodes as `.unknown`.
    /// - Parameter methods: names to reuse for a request's method instead of a new `String`.
    static func decode(_ body: ByteBuffer, methods: MethodNames? = nil) throws(ProtobufWireError) -> WireFrame {
        var reader = ProtobufReader(body)
        var callID: UInt64 = 0
        var kind: (field: Int, body: ByteBuffer)?
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case Self.callIDField:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                callID = try reader.readVarint()
            case Self.requestField...Self.windowUpdateField:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                kind = (field, try reader.readLengthDelimited())  // oneof: the last one wins
            default:
                try reader.skip(wireType: wireType)
            }
        }
        guard let kind else { return .unknown(callID: callID) }
        var inner = ProtobufReader(kind.body)
        switch kind.field {
        case Self.requestField:
            return .request(callID: callID, try WireRequest.decode(&inner, methods: methods))
        case Self.responseField:
            var payload = ByteBuffer()
            var status: RPCStatus?
            while let (field, wireType) = try inner.nextField() {
                switch field {
                case 1:
                    try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                    payload = try inner.readLengthDelimited()
                case 2:
                    try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                    var statusReader = ProtobufReader(try inner.readLengthDelimited())
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

extension WireRequest {
    var encodedSize: Int {
        var size = ProtobufWire.stringFieldSize(1, self.method)
        for (key, value) in self.metadata {
            size += ProtobufWire.lengthDelimitedSize(field: 2, length: Self.entrySize(key, value))
        }
        size += ProtobufWire.varintFieldSize(field: 3, self.timeoutMicros)
        if self.payload.readableBytes > 0 {
            size += ProtobufWire.lengthDelimitedSize(field: 4, length: self.payload.readableBytes)
        }
        size += ProtobufWire.varintFieldSize(field: 5, UInt64(self.initialWindow))
        return size
    }

    private static func entrySize(_ key: String, _ value: String) -> Int {
        ProtobufWire.stringFieldSize(1, key) + ProtobufWire.stringFieldSize(2, value)
    }

    func write(to buffer: inout ByteBuffer) {
        ProtobufWire.writeStringField(1, self.method, to: &buffer)
        for (key, value) in self.metadata {
            ProtobufWire.writeMessageHeader(2, length: Self.entrySize(key, value), to: &buffer)
            ProtobufWire.writeStringField(1, key, to: &buffer)
            ProtobufWire.writeStringField(2, value, to: &buffer)
        }
        ProtobufWire.writeVarintField(3, self.timeoutMicros, to: &buffer)
        ProtobufWire.writeBytesField(4, self.payload, to: &buffer)
        ProtobufWire.writeVarintField(5, UInt64(self.initialWindow), to: &buffer)
    }

    static func decode(_ reader: inout ProtobufReader, methods: MethodNames? = nil) throws(ProtobufWireError) -> WireRequest {
        var request = WireRequest(method: "")
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case 1:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var name = try reader.readLengthDelimited()
                request.method = methods?.name(of: name) ?? name.readString(length: name.readableBytes) ?? ""
            case 2:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var entry = ProtobufReader(try reader.readLengthDelimited())
                var key = ""
                var value = ""
                while let (entryField, entryType) = try entry.nextField() {
                    switch entryField {
                    case 1:
                        try ProtobufReader.expect(entryType, ProtobufWire.lengthDelimited)
                        key = try entry.readString()
                    case 2:
                        try ProtobufReader.expect(entryType, ProtobufWire.lengthDelimited)
                        value = try entry.readString()
                    default:
                        try entry.skip(wireType: entryType)
                    }
                }
                if request.metadata.isEmpty {
                    // Calls carry a handful of entries; growing 1, 3, 6 rehashes twice on the way.
                    request.metadata.reserveCapacity(6)
                }
                request.metadata[key] = value
            case 3:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                request.timeoutMicros = try reader.readVarint()
            case 4:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                request.payload = try reader.readLengthDelimited()
            case 5:
                try ProtobufReader.expect(wireType, ProtobufWire.varint)
                request.initialWindow = UInt32(clamping: try reader.readVarint())
            default:
                try reader.skip(wireType: wireType)
            }
        }
        return request
    }
}
