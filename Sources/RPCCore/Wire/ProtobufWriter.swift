/// Writes protobuf fields into memory whose size was computed beforehand with `ProtobufWire`'s
/// sizes, so a frame is encoded in one pass with no capacity check per field.
///
/// Invariant: nothing is written past `bytes`; a write that would be traps (a size computed
/// wrongly is a bug, never a reason to corrupt memory). The memory must outlive the writer: use it
/// inside `writeWithUnsafeMutableBytes`.
public struct ProtobufWriter {
    @usableFromInline let bytes: UnsafeMutableRawBufferPointer
    /// How many bytes have been written.
    public var offset = 0

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable
    public mutating func writeByte(_ byte: UInt8) {
        precondition(self.offset < self.bytes.count, "frame size computed wrongly")
        self.bytes[self.offset] = byte
        self.offset += 1
    }

    @inlinable
    public mutating func writeBytes(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, !source.isEmpty else { return }
        precondition(self.bytes.count - self.offset >= source.count, "frame size computed wrongly")
        (self.bytes.baseAddress! + self.offset).copyMemory(from: base, byteCount: source.count)
        self.offset += source.count
    }

    /// A 4-byte big-endian integer (the frame's length prefix).
    @inlinable
    public mutating func writeUInt32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { self.writeBytes($0) }
    }

    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            self.writeByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        self.writeByte(UInt8(value))
    }

    @inlinable
    public mutating func writeTag(field: Int, wireType: Int) {
        self.writeVarint(UInt64(field << 3 | wireType))
    }

    /// A varint field, omitted when 0.
    @inlinable
    public mutating func writeVarintField(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        self.writeTag(field: field, wireType: ProtobufWire.varint)
        self.writeVarint(value)
    }

    /// A string field, omitted when empty.
    @inlinable
    public mutating func writeStringField(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        var value = value
        value.withUTF8 { utf8 in
            self.writeTag(field: field, wireType: ProtobufWire.lengthDelimited)
            self.writeVarint(UInt64(utf8.count))
            self.writeBytes(UnsafeRawBufferPointer(utf8))
        }
    }

    /// A bytes field, omitted when empty.
    @inlinable
    public mutating func writeBytesField<Bytes: WireBytes>(_ field: Int, _ value: Bytes) {
        guard value.readableBytes > 0 else { return }
        self.writeTag(field: field, wireType: ProtobufWire.lengthDelimited)
        self.writeVarint(UInt64(value.readableBytes))
        value.withUnsafeReadableBytes { self.writeBytes($0) }
    }

    /// The header of an embedded message of `length` bytes (always written, even when empty:
    /// presence of a message field is meaningful).
    @inlinable
    public mutating func writeMessageHeader(_ field: Int, length: Int) {
        self.writeTag(field: field, wireType: ProtobufWire.lengthDelimited)
        self.writeVarint(UInt64(length))
    }
}
