/// A W3C trace context (`traceparent: 00-<trace-id>-<parent-id>-<flags>`), as carried in the
/// `traceparent` metadata entry.
public struct TraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 32 lower-case hex digits, not all zero.
    public let traceID: String
    /// 16 lower-case hex digits, not all zero: the span of the current call.
    public let spanID: String
    public let sampled: Bool

    public init?(traceparent: String) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, Self.isHex(parts[0]), parts[0] != "ff",
            parts[1].count == 32, Self.isHex(parts[1]), parts[1] != Substring(repeating: "0", count: 32),
            parts[2].count == 16, Self.isHex(parts[2]), parts[2] != Substring(repeating: "0", count: 16),
            parts[3].count == 2, Self.isHex(parts[3]), let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        // Version 00 has exactly four parts; later versions may add more.
        if parts[0] == "00" && parts.count != 4 { return nil }
        self.traceID = String(parts[1])
        self.spanID = String(parts[2])
        self.sampled = flags & 1 == 1
    }

    init(traceID: String, spanID: String, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// A new trace with a random trace id and span id.
    public static func newTrace(sampled: Bool = true) -> TraceContext {
        TraceContext(traceID: Self.randomHex(bytes: 16), spanID: Self.randomHex(bytes: 8), sampled: sampled)
    }

    /// A child span of this trace (for a call made while serving this one).
    public func child() -> TraceContext {
        TraceContext(traceID: self.traceID, spanID: Self.randomHex(bytes: 8), sampled: self.sampled)
    }

    public var traceparent: String {
        "00-\(self.traceID)-\(self.spanID)-\(self.sampled ? "01" : "00")"
    }

    public var description: String { self.traceparent }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(bytes * 2)
        while text.utf8.count < bytes * 2 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        var result = String(text.prefix(bytes * 2))
        if result.allSatisfy({ $0 == "0" }) { result = String(result.dropLast()) + "1" }
        return result
    }
}
