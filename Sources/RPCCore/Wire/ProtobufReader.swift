/// Reads protobuf fields from memory holding one message. Every read is bounds-checked against
/// the message's range; a malformed message throws `ProtobufWireError` and never reads outside it.
///
/// A length-delimited field is returned as the range of its bytes within `bytes`, so that the
/// caller can slice its own buffer there (a payload is never copied) or read an embedded message
/// with `readMessage()`. The memory must outlive the reader: use it inside
/// `withUnsafeReadableBytes`.
public struct ProtobufReader {
    /// The memory the message lies in, and the offsets of the rest of the message within it.
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset: Int
    @usableFromInline let end: Int

    /// A reader of the message filling `bytes`.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.init(bytes, range: 0..<bytes.count)
    }

    /// A reader of the message in `bytes[range]`.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "message outside its memory")
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    /// The next field's number and wire type, or nil at the end of the message.
    @inlinable
    public mutating func nextField() throws(ProtobufWireError) -> (field: Int, wireType: Int)? {
        guard self.offset < self.end else { return nil }
        let key = try self.readVarint()
        let field = key >> 3
        guard field > 0, field <= 536_870_911 else { throw .malformed }
        return (Int(field), Int(key & 7))
    }

    @inlinable
    public mutating func readVarint() throws(ProtobufWireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard self.offset < self.end else { throw .malformed }
            let byte = self.bytes[self.offset]
            self.offset += 1
            if shift == 63 && byte > 1 { throw .malformed }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw .malformed }
        }
    }

    /// The range, within `bytes`, of a length-delimited field's bytes.
    @inlinable
    public mutating func readLengthDelimited() throws(ProtobufWireError) -> Range<Int> {
        let length = try self.readVarint()
        guard length <= UInt64(self.end - self.offset) else { throw .malformed }
        let range = self.offset..<(self.offset + Int(length))
        self.offset = range.upperBound
        return range
    }

    /// A reader of the embedded message in a length-delimited field.
    @inlinable
    public mutating func readMessage() throws(ProtobufWireError) -> ProtobufReader {
        ProtobufReader(self.bytes, range: try self.readLengthDelimited())
    }

    /// A length-delimited field as a string (invalid UTF-8 repaired, as every protobuf runtime
    /// in Swift does).
    @inlinable
    public mutating func readString() throws(ProtobufWireError) -> String {
        String(decoding: try self.readBytes(), as: UTF8.self)
    }

    /// A length-delimited field's bytes, valid as long as the reader's memory.
    @inlinable
    public mutating func readBytes() throws(ProtobufWireError) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self.bytes[try self.readLengthDelimited()])
    }

    /// Skips a field this reader does not know (new fields are ignored by the versioning rules).
    @inlinable
    public mutating func skip(wireType: Int) throws(ProtobufWireError) {
        switch wireType {
        case ProtobufWire.varint: _ = try self.readVarint()
        case ProtobufWire.fixed64: try self.skipBytes(8)
        case ProtobufWire.lengthDelimited: _ = try self.readLengthDelimited()
        case ProtobufWire.fixed32: try self.skipBytes(4)
        default: throw .malformed  // groups (3, 4) and undefined types
        }
    }

    @inlinable
    mutating func skipBytes(_ count: Int) throws(ProtobufWireError) {
        guard self.end - self.offset >= count else { throw .malformed }
        self.offset += count
    }

    /// Requires `wireType` for a known field.
    @inlinable
    public static func expect(_ wireType: Int, _ expected: Int) throws(ProtobufWireError) {
        guard wireType == expected else { throw .malformed }
    }
}
