import HTTPTypes
import NIOCore
import RPCKit
import SwiftProtobuf

extension EdgeRoute {
    /// A request field that a path segment or a query parameter fills, parsed as the field's type.
    struct Field<Input: SwiftProtobuf.Message>: Sendable {
        let parameter: Parameter
        /// Parses `text` into the field. From the path (`true`), a different value already there
        /// (from the body) is refused rather than overridden.
        let assign: @Sendable (inout Input, String, Bool) throws -> Void

        /// A scalar field: text, integers, booleans, floating point.
        static func value<Value: EdgeParameterValue>(_ name: String, _ field: any WritableKeyPath<Input, Value> & Sendable) -> Self {
            Self(parameter: Parameter(name: name, kind: Value.kind)) { message, text, fromPath in
                guard let value = Value(parameter: text) else {
                    throw RPCError.invalidArgument(field: name, "must be \(Value.expectation), got \"\(text.prefix(32))\"")
                }
                try Self.store(value, in: &message, field, name: name, fromPath: fromPath)
            }
        }

        /// An enum field, by the name of one of `values` (or its number, as the JSON mapping allows).
        static func enumeration<Value: SwiftProtobuf.Enum>(
            _ name: String, _ field: any WritableKeyPath<Input, Value> & Sendable, _ values: KeyValuePairs<String, Int32>
        ) -> Self {
            let numbers = Dictionary(values.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            let names = values.map(\.key)
            // The proto3 JSON mapping reads an enum by name or by number: the parameter lists both.
            let spellings = names + values.map { String($0.value) }
            return Self(parameter: Parameter(name: name, kind: .enumeration(spellings))) { message, text, fromPath in
                guard let number = numbers[text] ?? Int32(text), let value = Value(rawValue: Int(number)) else {
                    throw RPCError.invalidArgument(
                        field: name, "must be one of \(names.joined(separator: ", ")), got \"\(text.prefix(32))\"")
                }
                try Self.store(value, in: &message, field, name: name, fromPath: fromPath)
            }
        }

        private static func store<Value: Equatable>(
            _ value: Value, in message: inout Input, _ field: WritableKeyPath<Input, Value>, name: String, fromPath: Bool
        ) throws {
            if fromPath, message[keyPath: field] != value, message[keyPath: field] != Input.zero(field) {
                throw RPCError.invalidArgument(field: name, "differs from the \(name) in the path")
            }
            message[keyPath: field] = value
        }
    }

    /// The string field of a PATCH's request that holds its update mask.
    struct UpdateMask<Input: SwiftProtobuf.Message>: Sendable {
        let field: any WritableKeyPath<Input, String> & Sendable

        static func field(_ field: any WritableKeyPath<Input, String> & Sendable) -> Self { Self(field: field) }
    }

    /// How a route reads its JSON body into its request.
    struct BodyBinding<Input: SwiftProtobuf.Message>: Sendable {
        let kind: Body
        let decode: @Sendable (ByteBuffer, HTTPFields, RPCForwarder) throws -> Input

        /// No body: the path and the query string fill the request.
        static var none: Self { Self(kind: .none) { _, _, _ in Input() } }

        /// The body is the whole request (`body: "*"`).
        static var request: Self {
            Self(kind: .request) { buffer, headers, forwarder in try forwarder.decode(Input.self, body: buffer, headers: headers) }
        }

        /// The body is one message field of the request (`body: "<field>"`).
        static func field<Part: SwiftProtobuf.Message>(
            _ name: String, _ type: Part.Type, _ field: any WritableKeyPath<Input, Part> & Sendable
        )
            -> Self
        {
            Self(kind: .field(name, message: Part.protoMessageName)) { buffer, headers, forwarder in
                var message = Input()
                message[keyPath: field] = try forwarder.decode(Part.self, body: buffer, headers: headers)
                return message
            }
        }
    }
}

extension SwiftProtobuf.Message {
    /// The value `field` has in an empty message: what "not given" looks like.
    fileprivate static func zero<Value>(_ field: KeyPath<Self, Value>) -> Value { Self()[keyPath: field] }
}

/// A type a path or query parameter can hold, parsed from its text as the proto3 JSON mapping
/// writes it.
protocol EdgeParameterValue: Equatable, Sendable {
    static var kind: EdgeRoute.Kind { get }
    /// What a malformed value was expected to be, for the 400's message.
    static var expectation: String { get }
    init?(parameter text: String)
}

extension String: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .string }
    static var expectation: String { "text" }
    init?(parameter text: String) { self = text }
}

extension Int32: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .int32 }
    static var expectation: String { "an integer" }
    init?(parameter text: String) { self.init(text) }
}

extension Int64: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .int64 }
    static var expectation: String { "an integer" }
    init?(parameter text: String) { self.init(text) }
}

extension UInt32: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .uint32 }
    static var expectation: String { "an integer not below 0" }
    init?(parameter text: String) { self.init(text) }
}

extension UInt64: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .uint64 }
    static var expectation: String { "an integer not below 0" }
    init?(parameter text: String) { self.init(text) }
}

extension Bool: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .bool }
    static var expectation: String { "true or false" }
    init?(parameter text: String) { self.init(text) }
}

extension Double: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .double }
    static var expectation: String { "a number" }
    init?(parameter text: String) { self.init(text) }
}

extension Float: EdgeParameterValue {
    static var kind: EdgeRoute.Kind { .float }
    static var expectation: String { "a number" }
    init?(parameter text: String) { self.init(text) }
}
