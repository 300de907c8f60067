import Foundation
import NIOCore
import SwiftProtobuf

/// Writes a message in the proto3 JSON mapping straight into a `ByteBuffer`: byte for byte what
/// SwiftProtobuf's `jsonUTF8Bytes()` writes (a test compares the two over every message of the
/// public API), for a fraction of its cost. Field names come from the table generated from
/// Protos/ (`ProtoJSONNames`, enum value names too) and are copied as bytes; a string that needs
/// no escaping is copied whole; only bytes and floating-point fields allocate.
///
/// A message or enum the table does not know, or a kind of field it does not write (maps other
/// than string to string, groups, extensions), makes it throw `Unsupported`; `write(_:into:)`
/// then leaves the work to SwiftProtobuf.
struct ProtoJSONWriter: SwiftProtobuf.Visitor {
    struct Unsupported: Error {}

    private(set) var buffer: ByteBuffer
    /// JSON names of the fields of the message being written.
    private var names: [Int: String]
    /// Whether the next field of the current object needs a comma before it.
    private var separated = false

    private init(buffer: ByteBuffer, names: [Int: String]) {
        self.buffer = buffer
        self.names = names
    }

    /// Appends `message` as JSON to `buffer`.
    static func write(_ message: some SwiftProtobuf.Message, into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        if let names = ProtoJSONNames.fields[type(of: message).protoMessageName] {
            var writer = ProtoJSONWriter(buffer: buffer, names: names)
            buffer = ByteBuffer()  // the writer holds the only reference: no copy on write
            do {
                try writer.object(message)
                buffer = writer.buffer
                return
            } catch is Unsupported {
                buffer = writer.buffer
                buffer.moveWriterIndex(to: start)
            }
        }
        let bytes: [UInt8] = try message.jsonUTF8Bytes()
        buffer.writeBytes(bytes)
    }

    // MARK: - Structure

    private mutating func object<M: SwiftProtobuf.Message>(_ message: M) throws {
        self.buffer.writeInteger(UInt8(ascii: "{"))
        self.separated = false
        try message.traverse(visitor: &self)
        self.buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// A nested message as an object, with its own field names.
    private mutating func nested<M: SwiftProtobuf.Message>(_ message: M) throws {
        try self.nested(message, names: try Self.names(of: M.self))
    }

    private static func names<M: SwiftProtobuf.Message>(of type: M.Type) throws -> [Int: String] {
        guard let names = ProtoJSONNames.fields[M.protoMessageName] else { throw Unsupported() }
        return names
    }

    private mutating func nested<M: SwiftProtobuf.Message>(_ message: M, names: [Int: String]) throws {
        let (outerNames, outerSeparated) = (self.names, self.separated)
        self.names = names
        try self.object(message)
        (self.names, self.separated) = (outerNames, outerSeparated)
    }

    private mutating func field(_ number: Int) throws {
        guard let name = self.names[number] else { throw Unsupported() }
        if self.separated { self.buffer.writeInteger(UInt8(ascii: ",")) }
        self.separated = true
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.buffer.writeString(name)
        self.buffer.writeStaticString("\":")
    }

    private mutating func array<T>(_ values: [T], _ number: Int, _ element: (inout ProtoJSONWriter, T) throws -> Void) throws {
        try self.field(number)
        self.buffer.writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { self.buffer.writeInteger(UInt8(ascii: ",")) }
            try element(&self, value)
        }
        self.buffer.writeInteger(UInt8(ascii: "]"))
    }

    // MARK: - Values, as SwiftProtobuf writes them

    private mutating func integer(_ value: Int64) {
        if value < 0 { self.buffer.writeInteger(UInt8(ascii: "-")) }
        self.unsigned(value.magnitude)
    }

    private mutating func unsigned(_ value: UInt64) {
        // Up to 20 digits, written backwards into a scratch area, then copied.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var value = value
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            self.buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    private static func names<E: SwiftProtobuf.Enum>(of type: E.Type) throws -> [Int: String] {
        guard let names = ProtoJSONNames.enums[ObjectIdentifier(E.self)] else { throw Unsupported() }
        return names
    }

    /// An enum value by its name; one this build does not know (from a newer peer) as its number.
    private mutating func enumValue<E: SwiftProtobuf.Enum>(_ value: E, _ names: [Int: String]) {
        if let name = names[value.rawValue] {
            self.buffer.writeInteger(UInt8(ascii: "\""))
            self.buffer.writeString(name)
            self.buffer.writeInteger(UInt8(ascii: "\""))
        } else {
            self.integer(Int64(value.rawValue))
        }
    }

    private mutating func quoted(_ value: Int64) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.integer(value)
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func quoted(_ value: UInt64) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.unsigned(value)
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A float or double: `NaN` and the infinities as strings, anything else as Swift prints it
    /// for debugging (the shortest form that reads back exactly), as SwiftProtobuf does.
    private mutating func floating<F: BinaryFloatingPoint & CustomDebugStringConvertible>(_ value: F) {
        if value.isNaN {
            self.buffer.writeStaticString("\"NaN\"")
        } else if !value.isFinite {
            self.buffer.writeStaticString(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else {
            self.buffer.writeString(value.debugDescription)
        }
    }

    private mutating func bool(_ value: Bool) {
        self.buffer.writeStaticString(value ? "true" : "false")
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// A quoted string, escaped as SwiftProtobuf does: `\b \t \n \f \r \" \\`, and `\u00XX` for
    /// the other C0 controls, DEL and the C1 controls (U+0080 to U+009F, `C2 80`...`C2 9F` in
    /// UTF-8); every other character as its UTF-8 bytes.
    private mutating func string(_ value: String) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            let plain = bytes.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x7F && $0 != 0xC2 }
            if plain {
                self.buffer.writeBytes(bytes)
                return
            }
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case 0x08: self.buffer.writeStaticString("\\b")
                case 0x09: self.buffer.writeStaticString("\\t")
                case 0x0A: self.buffer.writeStaticString("\\n")
                case 0x0C: self.buffer.writeStaticString("\\f")
                case 0x0D: self.buffer.writeStaticString("\\r")
                case 0x22: self.buffer.writeStaticString("\\\"")
                case 0x5C: self.buffer.writeStaticString("\\\\")
                case 0x00..<0x20, 0x7F:
                    self.escape(byte)
                case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]):
                    self.escape(bytes[index + 1])
                    index += 1
                default:
                    self.buffer.writeInteger(byte)
                }
                index += 1
            }
        }
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func escape(_ scalar: UInt8) {
        self.buffer.writeStaticString("\\u00")
        self.buffer.writeInteger(Self.hexDigits[Int(scalar >> 4)])
        self.buffer.writeInteger(Self.hexDigits[Int(scalar & 15)])
    }

    /// Standard base64 with padding, as SwiftProtobuf writes bytes.
    private mutating func bytes(_ value: Data) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.buffer.writeString(value.base64EncodedString())
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    // MARK: - Visitor: singular fields

    mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.floating(value)
    }

    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.floating(value)
    }

    mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.integer(Int64(value))
    }

    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.quoted(value)
    }

    mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.unsigned(UInt64(value))
    }

    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.quoted(value)
    }

    mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
        try self.visitSingularInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
        try self.visitSingularInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws {
        try self.visitSingularUInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws {
        try self.visitSingularUInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws {
        try self.visitSingularInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws {
        try self.visitSingularInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.bool(value)
    }

    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.string(value)
    }

    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        self.bytes(value)
    }

    mutating func visitSingularEnumField<E: SwiftProtobuf.Enum>(value: E, fieldNumber: Int) throws {
        let names = try Self.names(of: E.self)
        try self.field(fieldNumber)
        self.enumValue(value, names)
    }

    mutating func visitSingularMessageField<M: SwiftProtobuf.Message>(value: M, fieldNumber: Int) throws {
        try self.field(fieldNumber)
        try self.nested(value)
    }

    mutating func visitSingularGroupField<G: SwiftProtobuf.Message>(value: G, fieldNumber: Int) throws {
        throw Unsupported()
    }

    // MARK: - Visitor: repeated and packed fields

    mutating func visitRepeatedFloatField(value: [Float], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.floating($1) }
    }

    mutating func visitRepeatedDoubleField(value: [Double], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.floating($1) }
    }

    mutating func visitRepeatedInt32Field(value: [Int32], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.integer(Int64($1)) }
    }

    mutating func visitRepeatedInt64Field(value: [Int64], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.quoted($1) }
    }

    mutating func visitRepeatedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.unsigned(UInt64($1)) }
    }

    mutating func visitRepeatedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.quoted($1) }
    }

    mutating func visitRepeatedSInt32Field(value: [Int32], fieldNumber: Int) throws {
        try self.visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedSInt64Field(value: [Int64], fieldNumber: Int) throws {
        try self.visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
        try self.visitRepeatedUInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
        try self.visitRepeatedUInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
        try self.visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
        try self.visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitRepeatedBoolField(value: [Bool], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.bool($1) }
    }

    mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.string($1) }
    }

    mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
        try self.array(value, fieldNumber) { $0.bytes($1) }
    }

    mutating func visitRepeatedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        let names = try Self.names(of: E.self)
        try self.array(value, fieldNumber) { $0.enumValue($1, names) }
    }

    mutating func visitRepeatedMessageField<M: SwiftProtobuf.Message>(value: [M], fieldNumber: Int) throws {
        let names = try Self.names(of: M.self)
        try self.array(value, fieldNumber) { try $0.nested($1, names: names) }
    }

    mutating func visitRepeatedGroupField<G: SwiftProtobuf.Message>(value: [G], fieldNumber: Int) throws {
        throw Unsupported()
    }

    mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
        try self.visitRepeatedFloatField(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
        try self.visitRepeatedDoubleField(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
        try self.visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
        try self.visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        try self.visitRepeatedUInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        try self.visitRepeatedUInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
        try self.visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
        try self.visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
        try self.visitRepeatedUInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
        try self.visitRepeatedUInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
        try self.visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
        try self.visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
        try self.visitRepeatedBoolField(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        try self.visitRepeatedEnumField(value: value, fieldNumber: fieldNumber)
    }

    // MARK: - Visitor: maps, extensions, unknown fields

    mutating func visitMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: _ProtobufMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        // String to string only, in the dictionary's own order, as SwiftProtobuf writes it: the
        // dictionary itself is iterated (a cast to [String: String] would rebuild it, and a
        // rebuilt dictionary may order its entries differently).
        guard KeyType.BaseType.self == String.self, ValueType.BaseType.self == String.self else { throw Unsupported() }
        try self.field(fieldNumber)
        self.buffer.writeInteger(UInt8(ascii: "{"))
        var first = true
        for (key, entry) in value {
            guard let key = key as? String, let entry = entry as? String else { throw Unsupported() }
            if !first { self.buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            self.string(key)
            self.buffer.writeInteger(UInt8(ascii: ":"))
            self.string(entry)
        }
        self.buffer.writeInteger(UInt8(ascii: "}"))
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: _ProtobufEnumMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        throw Unsupported()
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: _ProtobufMessageMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        throw Unsupported()
    }

    mutating func visitExtensionFields(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw Unsupported()
    }

    mutating func visitExtensionFieldsAsMessageSet(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw Unsupported()
    }

    mutating func visitUnknown(bytes: Data) throws {
        // JSON carries no unknown fields (SwiftProtobuf drops them too).
    }
}
