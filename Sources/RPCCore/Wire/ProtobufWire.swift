/// The few pieces of the protobuf binary format the envelope needs: wire types and the sizes of
/// varints, tags and fields. `ProtobufReader` and `ProtobufWriter` read and write them.
///
/// The envelope (`pixecom.rpc.v1.Frame`) is encoded and decoded by hand on the hot path so that a
/// payload is never copied between the socket buffer and the message decoder; the generated type
/// `Pixecom_Rpc_V1_Frame` describes the same bytes and is used by tests and other clients.
public enum ProtobufWire {
    @inlinable public static var varint: Int { 0 }
    @inlinable public static var fixed64: Int { 1 }
    @inlinable public static var lengthDelimited: Int { 2 }
    @inlinable public static var fixed32: Int { 5 }

    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per 7 bits, at least 1.
        value == 0 ? 1 : (70 - value.leadingZeroBitCount) / 7
    }

    @inlinable
    public static func tagSize(_ field: Int) -> Int {
        self.varintSize(UInt64(field) << 3)
    }

    /// Size of a length-delimited field holding `length` bytes, tag included.
    @inlinable
    public static func lengthDelimitedSize(field: Int, length: Int) -> Int {
        self.tagSize(field) + self.varintSize(UInt64(length)) + length
    }

    /// Size of a varint field, tag included; 0 when the value is 0 (proto3 omits defaults).
    @inlinable
    public static func varintFieldSize(field: Int, _ value: UInt64) -> Int {
        value == 0 ? 0 : self.tagSize(field) + self.varintSize(value)
    }

    /// Size of a string field, tag included; 0 when the string is empty.
    @inlinable
    public static func stringFieldSize(_ field: Int, _ value: String) -> Int {
        value.isEmpty ? 0 : self.lengthDelimitedSize(field: field, length: value.utf8.count)
    }
}

/// Bytes that are not a well-formed protobuf message of the expected shape.
public enum ProtobufWireError: Error, Equatable {
    case malformed
}
