import Foundation
import RPCKit
import ServiceKit
import Testing

/// The hand-written RFC 3339, calendar-day and UUID code agrees with Foundation's across eras, leap
/// years, millisecond edges and malformed ids.
@Suite("RFC 3339 timestamps, calendar days and ids")
struct TimestampTests {
    @Test(
        "UUID(canonical:) reads what UUID(uuidString:) reads in the canonical form, and nothing else (sscanf also takes signs and spaces in a pair)"
    )
    func uuidsMatchFoundation() {
        var generator = SeededRandom(seed: 13)
        var texts: [String] = [
            "", "0", String(repeating: "a", count: 36), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "0000000-00000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-0000000000000",
            "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-00000000000\u{e9}", " 0000000-0000-0000-0000-000000000000",
        ]
        for _ in 0..<500 {
            let text = UUID().uuidString
            texts += [text, text.lowercased()]
            // One character changed to something random, at a random place.
            var bytes = Array(text.utf8)
            bytes[Int.random(in: 0..<36, using: &generator)] = UInt8.random(in: 32...126, using: &generator)
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        let canonical = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        for text in texts {
            let strict = text.range(of: canonical, options: .regularExpression) != nil
            #expect(UUID(canonical: text) == (strict ? UUID(uuidString: text) : nil), "\(text)")
            if strict { #expect(UUID(canonical: text) != nil, "\(text)") }
        }
    }

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

    @Test("RFC 3339 times parse to the instant they name: fractions, offsets, either case; malformed ones are refused")
    func instantsParse() {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let plain = Date.ISO8601FormatStyle()
        func foundation(_ text: String) -> Date? { (try? withFraction.parse(text)) ?? (try? plain.parse(text)) }
        var generator = SeededRandom(seed: 17)
        for _ in 0..<1_000 {
            let millis = Int64.random(in: 0...4_102_444_800_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            // UTC, as Foundation and RequestValidation.timestamp write it.
            let utc = RequestValidation.timestamp(date)
            let expected = foundation(utc) ?? .distantPast
            for text in [utc, utc.lowercased()] {
                let parsed = RequestValidation.instant(rfc3339: text)
                #expect(parsed.map { abs($0.timeIntervalSince(expected)) < 0.000_001 } == true, "\(text): \(String(describing: parsed))")
            }
            // The same instant in another offset: local wall time, then +HH:MM or -HH:MM.
            let offset = Int.random(in: -14...14, using: &generator) * 3600 + [0, 1800, 2700].randomElement(using: &generator)!
            let local = RequestValidation.timestamp(date.addingTimeInterval(Double(offset)))
            let sign = offset < 0 ? "-" : "+"
            let zone = String(format: "%@%02d:%02d", sign, abs(offset) / 3600, abs(offset) % 3600 / 60)
            let shifted = local.dropLast() + zone
            let parsed = RequestValidation.instant(rfc3339: String(shifted))
            #expect(
                parsed.map { abs($0.timeIntervalSince(date)) < 0.000_5 } == true, "\(shifted): \(String(describing: parsed)) vs \(date)")
        }
        #expect(RequestValidation.instant(rfc3339: "2026-12-07T23:30:00.5+01:00") == Date(timeIntervalSince1970: 1_796_682_600.5))
        #expect(RequestValidation.instant(rfc3339: "2026-12-07T23:30:00-08:00") == Date(timeIntervalSince1970: 1_796_715_000))
        #expect(RequestValidation.instant(rfc3339: "2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
        for bad in [
            "", "2026-12-07", "2026-12-07T23:30:00", "2026-12-07 23:30:00Z", "2026-02-29T00:00:00Z", "2026-12-07T24:00:00Z",
            "2026-12-07T23:60:00Z", "2026-12-07T23:30:60Z", "2026-12-07T23:30:00.Z", "2026-12-07T23:30:00+0100",
            "2026-12-07T23:30:00+01:00 ", "yesterday", "2026-12-07T23:30:00ZZ", "0000-01-01T00:00:00Z",
        ] {
            #expect(RequestValidation.instant(rfc3339: bad) == nil, "\(bad)")
        }
    }

    @Test("calendar days parse and print like DateFormatter with yyyy-MM-dd, and only real days are accepted")
    func daysMatchFoundation() throws {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        var generator = SeededRandom(seed: 11)
        // Foundation switches to the Julian calendar before October 1582; PostgreSQL's dates, like
        // these, are proleptic Gregorian, so the comparison starts in 1583.
        var days: [Int64] = [0, -1, 59, 10_956, 11_016, 11_017, 2_932_896, -141_349]
        for _ in 0..<2_000 { days.append(Int64.random(in: -141_349...2_932_896, using: &generator)) }
        for day in days {
            let date = Date(timeIntervalSince1970: Double(day) * 86_400)
            let text = formatter.string(from: date)
            #expect(RequestValidation.dayText(date) == text, "day \(day)")
            #expect(RequestValidation.dayText(date.addingTimeInterval(86_399.5)) == text, "late in day \(day)")
            #expect(try RequestValidation.day(text, field: "d") == date, "\(text)")
        }
        for bad in [
            "2026-02-29", "2100-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "0000-01-01", "2026-1-01", "2026/01/01",
            "+026-01-01", "2026-01-1a", "2026-01-01 ", "", "２０２６-01-01",
        ] {
            #expect(throws: RPCError.self, "\(bad)") { try RequestValidation.day(bad, field: "since") }
        }
        #expect(try RequestValidation.day("2024-02-29", field: "d") == Date(timeIntervalSince1970: 19_782 * 86_400))
        #expect(try RequestValidation.day("2000-02-29", field: "d") == Date(timeIntervalSince1970: 11_016 * 86_400))
        // Proleptic Gregorian before 1583, as PostgreSQL counts.
        #expect(try RequestValidation.day("0001-01-01", field: "d") == Date(timeIntervalSince1970: -719_162 * 86_400))
        #expect(try RequestValidation.day("1000-03-01", field: "d") == Date(timeIntervalSince1970: -354_226 * 86_400))
        #expect(RequestValidation.dayText(Date(timeIntervalSince1970: -354_226 * 86_400)) == "1000-03-01")
    }
}
