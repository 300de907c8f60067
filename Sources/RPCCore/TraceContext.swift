/// A W3C trace context (`traceparent: 00-<trace-id>-<parent-id>-<flags>`), as carried in the
/// `traceparent` metadata entry.
public struct TraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 32 lower-case hex digits, not all zero.
    public let traceID: String
    /// 16 lower-case hex digits, not all zero: the span of the current call.
    public let spanID: String
    public let sampled: Bool

    /// Parses `version-traceid-parentid-flags` over the UTF-8 bytes in one pass (splitting into
    /// substrings cost almost half of a small call's CPU).
    public init?(traceparent: String) {
        var text = traceparent
        guard
            let parsed = text.withUTF8({ bytes -> (trace: String, span: String, flags: UInt8)? in
                // "vv-" + 32 + "-" + 16 + "-" + "ff": 55 bytes; later versions may append "-...".
                guard bytes.count >= 55, bytes[2] == 0x2D, bytes[35] == 0x2D, bytes[52] == 0x2D else { return nil }
                guard let version = Self.hexByte(bytes[0], bytes[1]), version != 0xFF else { return nil }
                if version == 0 {
                    guard bytes.count == 55 else { return nil }
                } else if bytes.count > 55 {
                    guard bytes[55] == 0x2D else { return nil }
                }
                guard Self.isNonZeroHex(bytes, 3..<35), Self.isNonZeroHex(bytes, 36..<52),
                    let flags = Self.hexByte(bytes[53], bytes[54])
                else { return nil }
                return (
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[3..<35]), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[36..<52]), as: UTF8.self),
                    flags
                )
            })
        else { return nil }
        self.traceID = parsed.trace
        self.spanID = parsed.span
        self.sampled = parsed.flags & 1 == 1
    }

    /// The value of a lower-case hex digit, nil for any other byte.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    private static func hexByte(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let high = Self.hexValue(high), let low = Self.hexValue(low) else { return nil }
        return high << 4 | low
    }

    /// Whether `bytes[range]` are lower-case hex digits, not all "0".
    private static func isNonZeroHex(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var nonZero = false
        for index in range {
            guard let value = Self.hexValue(bytes[index]) else { return false }
            nonZero = nonZero || value != 0
        }
        return nonZero
    }

    package init(traceID: String, spanID: String, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// A new trace with a random trace id and span id.
    public static func newTrace(sampled: Bool = true) -> TraceContext {
        TraceContext(traceID: Self.randomHex(bytes: 16), spanID: Self.randomHex(bytes: 8), sampled: sampled)
    }

    /// The `traceparent` of a new sampled trace, made directly (one string instead of three).
    public static func newTraceparent() -> String {
        String(unsafeUninitializedCapacity: 55) { buffer in
            buffer[0] = UInt8(ascii: "0")
            buffer[1] = UInt8(ascii: "0")
            buffer[2] = UInt8(ascii: "-")
            RandomIDs.writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[3..<35]))
            buffer[35] = UInt8(ascii: "-")
            RandomIDs.writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[36..<52]))
            buffer[52] = UInt8(ascii: "-")
            buffer[53] = UInt8(ascii: "0")
            buffer[54] = UInt8(ascii: "1")
            return 55
        }
    }

    /// A child span of this trace (for a call made while serving this one).
    public func child() -> TraceContext {
        TraceContext(traceID: self.traceID, spanID: Self.randomHex(bytes: 8), sampled: self.sampled)
    }

    /// `00-<trace-id>-<span-id>-<flags>`, written into one string.
    public var traceparent: String {
        let (trace, span) = (self.traceID.utf8, self.spanID.utf8)
        return String(unsafeUninitializedCapacity: 7 + trace.count + span.count) { buffer in
            var index = 0
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "-"))
            for byte in trace { put(byte) }
            put(UInt8(ascii: "-"))
            for byte in span { put(byte) }
            put(UInt8(ascii: "-"))
            put(UInt8(ascii: "0"))
            put(self.sampled ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            return index
        }
    }

    public var description: String { self.traceparent }

    /// Random ids without a system call per draw (`RandomIDs`).
    private static func randomHex(bytes: Int) -> String {
        RandomIDs.hex(bytes: bytes)
    }
}
