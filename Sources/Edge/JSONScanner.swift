/// Splits a JSON document into its values, each with the exact bytes it was written with, for
/// `JSONBodyDiagnosis` to decode one field at a time. It checks structure only (strings,
/// nesting, commas); scalars are kept as written, so a number such as `1e400` survives to be
/// named. Used only on bodies that already failed to decode. Depth is capped at 64.
struct JSONScanner {
    struct Member {
        /// The key as written, quotes included.
        var rawKey: ArraySlice<UInt8>
        /// The key as text, for naming the field.
        var name: String
        var value: Node
    }

    struct Node {
        indirect enum Kind {
            case scalar
            case object([Member])
            case array([Node])
        }

        var kind: Kind
        var raw: ArraySlice<UInt8>
    }

    private let bytes: [UInt8]
    private var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The whole document; nil when it is not well-formed JSON.
    mutating func document() -> Node? {
        guard let node = self.value(depth: 0) else { return nil }
        self.skipSpace()
        return self.index == self.bytes.count ? node : nil
    }

    private mutating func value(depth: Int) -> Node? {
        guard depth < 64 else { return nil }
        self.skipSpace()
        guard self.index < self.bytes.count else { return nil }
        let start = self.index
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"):
            self.index += 1
            var members: [Member] = []
            self.skipSpace()
            if self.peek(UInt8(ascii: "}")) {
                self.index += 1
                return Node(kind: .object(members), raw: self.bytes[start..<self.index])
            }
            while true {
                self.skipSpace()
                let keyStart = self.index
                guard self.string() else { return nil }
                let rawKey = self.bytes[keyStart..<self.index]
                self.skipSpace()
                guard self.peek(UInt8(ascii: ":")) else { return nil }
                self.index += 1
                guard let value = self.value(depth: depth + 1) else { return nil }
                let name = String(decoding: rawKey.dropFirst().dropLast(), as: UTF8.self)
                members.append(Member(rawKey: rawKey, name: name, value: value))
                self.skipSpace()
                if self.peek(UInt8(ascii: ",")) {
                    self.index += 1
                } else if self.peek(UInt8(ascii: "}")) {
                    self.index += 1
                    return Node(kind: .object(members), raw: self.bytes[start..<self.index])
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "["):
            self.index += 1
            var elements: [Node] = []
            self.skipSpace()
            if self.peek(UInt8(ascii: "]")) {
                self.index += 1
                return Node(kind: .array(elements), raw: self.bytes[start..<self.index])
            }
            while true {
                guard let element = self.value(depth: depth + 1) else { return nil }
                elements.append(element)
                self.skipSpace()
                if self.peek(UInt8(ascii: ",")) {
                    self.index += 1
                } else if self.peek(UInt8(ascii: "]")) {
                    self.index += 1
                    return Node(kind: .array(elements), raw: self.bytes[start..<self.index])
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "\""):
            guard self.string() else { return nil }
            return Node(kind: .scalar, raw: self.bytes[start..<self.index])
        default:
            // A number, true, false or null: the run of characters that can make one up.
            while self.index < self.bytes.count, Self.isScalarByte(self.bytes[self.index]) { self.index += 1 }
            guard self.index > start else { return nil }
            return Node(kind: .scalar, raw: self.bytes[start..<self.index])
        }
    }

    /// Skips a string (at its opening quote); false when there is none or it never closes.
    private mutating func string() -> Bool {
        guard self.peek(UInt8(ascii: "\"")) else { return false }
        self.index += 1
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: "\\"): self.index += 2
            case UInt8(ascii: "\""):
                self.index += 1
                return true
            default: self.index += 1
            }
        }
        return false
    }

    private func peek(_ byte: UInt8) -> Bool {
        self.index < self.bytes.count && self.bytes[self.index] == byte
    }

    private mutating func skipSpace() {
        while self.index < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.index]) { self.index += 1 }
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ".")
    }
}
