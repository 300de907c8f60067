import Foundation
import Testing

@testable import RPCCore
@testable import RPCKit

@Suite("Trace contexts and random ids")
struct TraceContextTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let span = "00f067aa0ba902b7"

    @Test("a W3C traceparent parses into trace id, span id and the sampled flag")
    func parsesValidHeaders() throws {
        let sampled = try #require(TraceContext(traceparent: "00-\(Self.trace)-\(Self.span)-01"))
        #expect(sampled.traceID == Self.trace)
        #expect(sampled.spanID == Self.span)
        #expect(sampled.sampled)
        #expect(sampled.traceparent == "00-\(Self.trace)-\(Self.span)-01")
        let unsampled = try #require(TraceContext(traceparent: "00-\(Self.trace)-\(Self.span)-00"))
        #expect(!unsampled.sampled)
        // A later version may append fields after a dash; its first four are read.
        let future = try #require(TraceContext(traceparent: "01-\(Self.trace)-\(Self.span)-03-extra"))
        #expect(future.sampled && future.spanID == Self.span)
        #expect(TraceContext(traceparent: "01-\(Self.trace)-\(Self.span)-03") != nil)
    }

    @Test(
        "malformed traceparents are ignored",
        arguments: [
            "", "00", "00-x",
            "00-\(trace)-\(span)-0",  // short flags
            "00-\(trace)-\(span)-01-extra",  // version 00 has four fields
            "ff-\(trace)-\(span)-01",  // forbidden version
            "00-\(trace.uppercased())-\(span)-01",  // upper case
            "00-\(String(repeating: "0", count: 32))-\(span)-01",  // all-zero trace id
            "00-\(trace)-\(String(repeating: "0", count: 16))-01",  // all-zero span id
            "00-\(trace.dropLast())g-\(span)-01",  // not hex
            "00_\(trace)-\(span)-01",  // wrong separator
            "00-\(trace)-\(span)-0g",  // flags not hex
            "01-\(trace)-\(span)-01x",  // a later version's extra field needs a dash
            "00-\(trace)\(span)-01",  // a missing separator
            "00-\(trace)-\(span)-01\u{e9}",  // non-ASCII tail
        ]
    )
    func rejectsMalformedHeaders(_ header: String) {
        #expect(TraceContext(traceparent: header) == nil, "\(header)")
    }

    @Test("new traces and child spans are well-formed, distinct and keep the trace id")
    func newTracesAndChildren() throws {
        let root = TraceContext.newTrace()
        #expect(TraceContext(traceparent: root.traceparent) == root)
        let child = root.child()
        #expect(child.traceID == root.traceID && child.spanID != root.spanID)
        #expect(TraceContext(traceparent: child.traceparent) == child)
        let spans = Set((0..<10_000).map { _ in root.child().spanID })
        #expect(spans.count == 10_000)
        // A new trace's traceparent made in one go parses back to a sampled, fresh trace.
        let headers = (0..<1_000).map { _ in TraceContext.newTraceparent() }
        #expect(Set(headers).count == headers.count)
        for header in headers.prefix(50) {
            let parsed = try #require(TraceContext(traceparent: header), "\(header)")
            #expect(parsed.sampled && parsed.traceparent == header)
        }
    }

    @Test("random ids: hex of the asked length, UUIDs in version-4 layout, no repeats")
    func randomIDs() throws {
        for bytes in [1, 8, 16, 20] {
            let hex = RandomIDs.hex(bytes: bytes)
            #expect(hex.utf8.count == bytes * 2)
            #expect(hex.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        }
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RandomIDs.uuid()
            let parsed = try #require(UUID(uuidString: id), "\(id)")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = parsed.uuid
            #expect(bytes.6 >> 4 == 4, "version 4: \(id)")
            #expect(bytes.8 >> 6 == 0b10, "RFC 4122 variant: \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
