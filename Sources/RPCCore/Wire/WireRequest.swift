/// The opening of a call (`pixecom.rpc.v1.Request`, the `request` kind of a `Frame`): the method,
/// the metadata, the timeout, the serialized request message and, for a server-streaming method,
/// the credit the client grants up front.
public struct WireRequest<Bytes: WireBytes>: Sendable {
    /// Fully qualified, e.g. `pixecom.auth.v1.AuthService/Login`. When decoded by a server, the
    /// router's own instance of the name (`MethodNames`), not a new string per call.
    public var method: String
    /// Lower-case keys; of duplicate keys on the wire, the last entry wins.
    public var metadata: [String: String]
    /// How long the caller waits, counted from when the frame is received; 0 means no deadline.
    public var timeoutMicros: UInt64
    /// The serialized request message. When decoded, a slice of the received bytes, not a copy.
    public var payload: Bytes
    /// Server-streaming credit granted up front; 0 means the default. Ignored for unary methods.
    public var initialWindow: UInt32

    @inlinable
    public init(
        method: String, metadata: [String: String] = [:], timeoutMicros: UInt64 = 0, payload: Bytes = Bytes(),
        initialWindow: UInt32 = 0
    ) {
        self.method = method
        self.metadata = metadata
        self.timeoutMicros = timeoutMicros
        self.payload = payload
        self.initialWindow = initialWindow
    }

    // MARK: - Encoding

    /// Size of the `Request` message, without a tag or length.
    @inlinable
    public var encodedSize: Int {
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

    @inlinable
    static func entrySize(_ key: String, _ value: String) -> Int {
        ProtobufWire.stringFieldSize(1, key) + ProtobufWire.stringFieldSize(2, value)
    }

    /// Writes the `Request` message (`encodedSize` bytes), without a tag or length.
    @inlinable
    public func write(to writer: inout ProtobufWriter) {
        writer.writeStringField(1, self.method)
        for (key, value) in self.metadata {
            writer.writeMessageHeader(2, length: Self.entrySize(key, value))
            writer.writeStringField(1, key)
            writer.writeStringField(2, value)
        }
        writer.writeVarintField(3, self.timeoutMicros)
        writer.writeBytesField(4, self.payload)
        writer.writeVarintField(5, UInt64(self.initialWindow))
    }

    // MARK: - Decoding

    /// Reads a `Request` message from `reader`, whose memory holds the readable bytes of `body`;
    /// the payload becomes a slice of `body`.
    /// - Parameter methods: names to reuse for the method instead of a new `String`.
    @inlinable
    public static func decode(
        _ reader: inout ProtobufReader,
        of body: Bytes,
        methods: MethodNames? = nil
    ) throws(ProtobufWireError) -> WireRequest {
        var request = WireRequest(method: "")
        while let (field, wireType) = try reader.nextField() {
            switch field {
            case 1:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                let name = try reader.readBytes()
                request.method = methods?.name(of: name) ?? String(decoding: name, as: UTF8.self)
            case 2:
                try ProtobufReader.expect(wireType, ProtobufWire.lengthDelimited)
                var entry = try reader.readMessage()
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
                request.payload = body.slice(try reader.readLengthDelimited())
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
