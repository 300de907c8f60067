import Foundation
import ServiceKit
import Testing

/// The hand-written RFC 3339 formatter agrees with Foundation's across eras, leap years and
/// millisecond edges.
@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test("equals ISO8601DateFormatter with fractional seconds for many instants")
    func matchesFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SeededRandom(seed: 7)
        var instants: [Double] = [0, 951_782_400, 951_868_799.999, 1_709_164_800.5, 4_102_444_799.999, 1_790_000_000.001, 253_402_300_799]
        for _ in 0..<2_000 { instants.append(Double(UInt64.random(in: 0...4_102_444_800_000, using: &generator)) / 1000) }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RequestValidation.timestamp(date) == formatter.string(from: date), "at \(seconds)")
        }
    }
}
