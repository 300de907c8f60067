import NIOCore

/// The few pieces of the protobuf binary format the envelope needs: varints, tags and
/// length-delimited fields, written straight into a `ByteBuffer`.
///
/// The envelope (`pixecom.rpc.v1.Frame`) is encoded and decoded by hand on the hot path so that a
/// payload is never copied between the socket buffer and the message decoder; the generated type
/// `Pixecom_Rpc_V1_Frame` describes the same bytes and is used by tests and other clients.
enum ProtobufWire {
    static let varint = 0
    static let fixed64 = 1
    static let lengthDelimited = 2
    static let fixed32 = 5

    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per 7 bits, at least 1.
        value == 0 ? 1 : (70 - value.leadingZeroBitCount) / 7
    }

    static func tagSize(_ field: Int) -> Int {
        self.varintSize(UInt64(field) << 3)
    }

    /// Size of a length-delimited field holding `length` bytes, tag included.
    static func lengthDelimitedSize(field: Int, length: Int) -> Int {
        self.tagSize(field) + self.varintSize(UInt64(length)) + length
    }

    /// Size of a varint field, tag included; 0 when the value is 0 (proto3 omits defaults).
    static func varintFieldSize(field: Int, _ value: UInt64) -> Int {
        value == 0 ? 0 : self.tagSize(field) + self.varintSize(value)
    }

    static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        if value < 0x80 {
            buffer.writeInteger(UInt8(value))
            return
        }
        // Up to 10 bytes, assembled on the stack and written with one call.
        var scratch: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &scratch) { bytes in
            var value = value
            var count = 0
            while value >= 0x80 {
                bytes[count] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                count += 1
            }
            bytes[count] = UInt8(value)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0...count]))
        }
    }

    static func writeTag(field: Int, wireType: Int, to buffer: inout ByteBuffer) {
        self.writeVarint(UInt64(field << 3 | wireType), to: &buffer)
    }

    /// A varint field, omitted when 0.
    static func writeVarintField(_ field: Int, _ value: UInt64, to buffer: inout ByteBuffer) {
        guard value != 0 else { return }
        self.writeTag(field: field, wireType: self.varint, to: &buffer)
        self.writeVarint(value, to: &buffer)
    }

    /// A string field, omitted when empty.
    static func writeStringField(_ field: Int, _ value: String, to buffer: inout ByteBuffer) {
        guard !value.isEmpty else { return }
        self.writeTag(field: field, wireType: self.lengthDelimited, to: &buffer)
        self.writeVarint(UInt64(value.utf8.count), to: &buffer)
        buffer.writeString(value)
    }

    /// A bytes field, omitted when empty.
    static func writeBytesField(_ field: Int, _ value: ByteBuffer, to buffer: inout ByteBuffer) {
        guard value.readableBytes > 0 else { return }
        self.writeTag(field: field, wireType: self.lengthDelimited, to: &buffer)
        self.writeVarint(UInt64(value.readableBytes), to: &buffer)
        buffer.writeImmutableBuffer(value)
    }

    /// The header of an embedded message of `length` bytes (always written, even when empty:
    /// presence of a message field is meaningful).
    static func writeMessageHeader(_ field: Int, length: Int, to buffer: inout ByteBuffer) {
        self.writeTag(field: field, wireType: self.lengthDelimited, to: &buffer)
        self.writeVarint(UInt64(length), to: &buffer)
    }

    static func stringFieldSize(_ field: Int, _ value: String) -> Int {
        value.isEmpty ? 0 : self.lengthDelimitedSize(field: field, length: value.utf8.count)
    }
}

/// Reads protobuf fields from a buffer holding one message. Every read is bounds-checked; a
/// malformed message throws `ProtobufWireError` and never reads outside the buffer.
struct ProtobufReader {
    private var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(ProtobufWireError) -> (field: Int, wireType: Int)? {
        guard self.buffer.readableBytes > 0 else { return nil }
        let key = try self.readVarint()
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw .malformed }
        return (Int(field), Int(key & 7))
    }

    mutating func readVarint() throws(ProtobufWireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = self.buffer.readInteger(as: UInt8.self) else { throw .malformed }
            if shift == 63 && byte > 1 { throw .malformed }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw .malformed }
        }
    }

    /// The bytes of a length-delimited field, as a slice of the same storage (no copy).
    mutating func readLengthDelimited() throws(ProtobufWireError) -> ByteBuffer {
        let length = try self.readVarint()
        guard length <= UInt64(self.buffer.readableBytes), let slice = self.buffer.readSlice(length: Int(length)) else {
            throw .malformed
        }
        return slice
    }

    mutating func readString() throws(ProtobufWireError) -> String {
        var slice = try self.readLengthDelimited()
        return slice.readString(length: slice.readableBytes) ?? ""
    }

    /// Skips a field this reader does not know (new fields are ignored by the versioning rules).
    mutating func skip(wireType: Int) throws(ProtobufWireError) {
        switch wireType {
        case ProtobufWire.varint: _ = try self.readVarint()
        case ProtobufWire.fixed64: try self.skipBytes(8)
        case ProtobufWire.lengthDelimited: _ = try self.readLengthDelimited()
        case ProtobufWire.fixed32: try self.skipBytes(4)
        default: throw .malformed  // groups (3, 4) and undefined types
        }
    }

    private mutating func skipBytes(_ count: Int) throws(ProtobufWireError) {
        guard self.buffer.readableBytes >= count else { throw .malformed }
        self.buffer.moveReaderIndex(forwardBy: count)
    }

    /// Requires `wireType` for a known field.
    static func expect(_ wireType: Int, _ expected: Int) throws(ProtobufWireError) {
        guard wireType == expected else { throw .malformed }
    }
}

/// Bytes that are not a well-formed protobuf message of the expected shape.
enum ProtobufWireError: Error, Equatable {
    case malformed
}
