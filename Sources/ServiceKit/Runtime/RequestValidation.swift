import Foundation
import RPCKit

/// Parsing of request fields into domain values, each failure naming the field.
public enum RequestValidation {
    /// An object id. Malformed ids are INVALID_ARGUMENT; well-formed unknown ones are the
    /// caller's NOT_FOUND.
    ///
    /// `field` is built only for an error: batch validations name "rows[1234].ad_id" without
    /// making that string for every good row.
    public static func id(_ text: String, field: @autoclosure () -> String) throws -> UUID {
        guard !text.isEmpty else { throw RPCError.invalidArgument(field: field(), "is required") }
        guard let id = UUID(canonical: text) else {
            throw RPCError.invalidArgument(field: field(), "must be a UUID, got \"\(text.prefix(64))\"")
        }
        return id
    }

    /// Page size: 0 means the default (50); at most 200.
    public static func pageSize(_ requested: Int32, field: String = "page_size") throws -> Int {
        guard requested >= 0 else { throw RPCError.invalidArgument(field: field, "must not be negative") }
        guard requested <= 200 else { throw RPCError.invalidArgument(field: field, "must be at most 200") }
        return requested == 0 ? 50 : Int(requested)
    }

    /// A non-empty string of at most `maxLength` characters (Unicode code points, as JSON Schema's
    /// maxLength counts them), once trimmed.
    public static func text(_ value: String, field: String, maxLength: Int = 200) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        guard trimmed.unicodeScalars.count <= maxLength else {
            throw RPCError.invalidArgument(field: field, "must be at most \(maxLength) characters")
        }
        // PostgreSQL text cannot hold NUL.
        guard !trimmed.unicodeScalars.contains("\u{0}") else {
            throw RPCError.invalidArgument(field: field, "must not contain NUL characters")
        }
        return trimmed
    }

    /// An active ISO 4217 code with a minor unit, in upper case (`ISO4217`).
    public static func currency(_ value: String, field: @autoclosure () -> String = "currency") throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: field(), "is required (an ISO 4217 code such as USD)") }
        guard ISO4217.isActive(value) else {
            let upper = value.uppercased()
            let hint = upper != value && ISO4217.isActive(upper) ? " (codes are upper case: \(upper))" : ""
            throw RPCError.invalidArgument(
                field: field(), "must be an active ISO 4217 code such as USD, got \"\(value.prefix(16))\"\(hint)")
        }
        return value
    }

    /// A calendar day "YYYY-MM-DD" (years 0001-9999, a real day of the Gregorian calendar), as
    /// its UTC midnight.
    ///
    /// Parsed by hand: a `DateFormatter` per call cost tens of microseconds, and stats ingest
    /// checks one day per row.
    public static func day(_ value: String, field: @autoclosure () -> String) throws -> Date {
        guard let days = Self.daysSince1970(day: value) else {
            throw RPCError.invalidArgument(field: field(), "must be a date YYYY-MM-DD, got \"\(value.prefix(32))\"")
        }
        return Date(timeIntervalSince1970: Double(days) * 86_400)
    }

    /// The UTC calendar day of `date`, "YYYY-MM-DD" (the inverse of `day(_:field:)`).
    public static func dayText(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let days = (seconds - ((seconds % 86_400) + 86_400) % 86_400) / 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        guard (0...9999).contains(year) else { return "\(year)-\(month)-\(day)" }
        return String(unsafeUninitializedCapacity: 10) { bytes in
            Self.put(year, width: 4, at: 0, in: bytes)
            bytes[4] = UInt8(ascii: "-")
            Self.put(month, width: 2, at: 5, in: bytes)
            bytes[7] = UInt8(ascii: "-")
            Self.put(day, width: 2, at: 8, in: bytes)
            return 10
        }
    }

    /// The instant of an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` ("T"
    /// and "Z" in either case); nil for anything else (callers may then try a wider parser).
    ///
    /// Parsed by hand like days: Foundation's ISO 8601 parsers cost microseconds a call, and a
    /// storefront batch carries up to 500 times. A leap second (60) is refused, as Foundation does.
    public static func instant(rfc3339 value: String) -> Date? {
        var value = value
        return value.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20, bytes.count <= 40 else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var result = 0
                for index in range {
                    let digit = Int(bytes[index]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    result = result * 10 + digit
                }
                return result
            }
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
                year >= 1, (1...12).contains(month), day >= 1, hour < 24, minute < 60, second < 60
            else { return nil }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            guard day <= lengths[month - 1] else { return nil }
            var index = 19
            var fraction = 0.0
            if bytes[index] == UInt8(ascii: ".") {
                index += 1
                var scale = 0.1
                let start = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                    fraction += Double(bytes[index] - 0x30) * scale
                    scale /= 10
                    index += 1
                }
                guard index > start else { return nil }
            }
            guard index < bytes.count else { return nil }
            var offset = 0
            switch bytes[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                guard index + 1 == bytes.count else { return nil }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                    let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
                else { return nil }
                offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            default:
                return nil
            }
            let seconds = Self.days(fromCivil: year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
            return Date(timeIntervalSince1970: Double(seconds) + fraction)
        }
    }

    /// Days since 1970-01-01 of a strict "YYYY-MM-DD"; nil for anything else.
    static func daysSince1970(day value: String) -> Int64? {
        var value = value
        return value.withUTF8 { bytes -> Int64? in
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var result = 0
                for index in range {
                    let digit = Int(bytes[index]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    result = result * 10 + digit
                }
                return result
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                year >= 1, (1...12).contains(month), day >= 1
            else { return nil }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            guard day <= lengths[month - 1] else { return nil }
            return Self.days(fromCivil: year, month, day)
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
    /// civil_from_days).
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0)), month, day)
    }

    /// Writes `value` as `width` decimal digits, zero-padded, at `offset`.
    private static func put(_ value: Int, width: Int, at offset: Int, in bytes: UnsafeMutableBufferPointer<UInt8>) {
        var value = value
        for index in stride(from: offset + width - 1, through: offset, by: -1) {
            bytes[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
            value /= 10
        }
    }

    /// RFC 3339 time in UTC to the nearest millisecond, e.g. `2026-11-25T00:35:48.542Z`.
    ///
    /// Written out by hand from the civil-from-days algorithm: creating an `ISO8601DateFormatter`
    /// per call (they are not safe to share between threads) took 30 % of CampaignService's CPU
    /// on a JSON GET.
    public static func timestamp(_ date: Date) -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let millis = Int(((totalMillis % 1000) + 1000) % 1000)
        let seconds = (totalMillis - Int64(millis)) / 1000
        let secondOfDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        let days = (seconds - Int64(secondOfDay)) / 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        // Years outside 0...9999 do not fit RFC 3339; they cannot come from a PostgreSQL
        // timestamptz a service stored, but are written out in full rather than wrapped.
        guard (0...9999).contains(year) else {
            return "\(year)-\(month)-\(day)T\(secondOfDay / 3600):\(secondOfDay / 60 % 60):\(secondOfDay % 60).\(millis)Z"
        }
        // Straight into the string's bytes: 24 ASCII characters, no intermediate strings.
        return String(unsafeUninitializedCapacity: 24) { bytes in
            func put(_ value: Int, width: Int, at offset: Int) { Self.put(value, width: width, at: offset, in: bytes) }
            put(year, width: 4, at: 0)
            bytes[4] = UInt8(ascii: "-")
            put(month, width: 2, at: 5)
            bytes[7] = UInt8(ascii: "-")
            put(day, width: 2, at: 8)
            bytes[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, width: 2, at: 11)
            bytes[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, width: 2, at: 14)
            bytes[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, width: 2, at: 17)
            bytes[19] = UInt8(ascii: ".")
            put(millis, width: 3, at: 20)
            bytes[23] = UInt8(ascii: "Z")
            return 24
        }
    }
}

/// Opaque page tokens for keyset pagination on (created_at, id).
///
/// A token is `<microseconds since 1970>.<lower-case UUID>` (`pattern`): the position after which
/// the next page starts. Any token of that shape is a valid position, so the OpenAPI document can
/// say exactly which tokens are accepted.
public enum PageToken {
    /// What a token looks like; anything else is refused.
    public static let pattern = "^(0|[1-9][0-9]{0,17})\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    public static func encode(createdAt: Date, id: UUID) -> String {
        let micros = max(0, Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded()))
        return "\(micros).\(id.uuidString.lowercased())"
    }

    /// nil for an empty token (the first page).
    public static func decode(_ token: String, field: String = "page_token") throws -> (createdAt: Date, id: UUID)? {
        guard !token.isEmpty else { return nil }
        let parts = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits = parts.first ?? ""
        guard parts.count == 2, (1...18).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            digits == "0" || digits.first != "0", let micros = Int64(digits),
            parts[1].count == 36, parts[1] == parts[1].lowercased(), let id = UUID(uuidString: String(parts[1]))
        else {
            throw RPCError.invalidArgument(field: field, "is not a token returned by this API")
        }
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), id)
    }
}

extension UUID {
    /// The canonical text form, 8-4-4-4-12 hex digits in either case, as `UUID(uuidString:)`
    /// reads it; nil for anything else. Parsed by hand: Foundation's parser runs `sscanf`, which
    /// took a quarter of StatsService's CPU when ingesting insights (one id per row).
    public init?(canonical text: String) {
        var text = text
        let parsed: uuid_t? = text.withUTF8 { bytes -> uuid_t? in
            guard bytes.count == 36 else { return nil }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var index = 0
            var byte = 0
            func nibble(_ c: UInt8) -> UInt8? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- UInt8(ascii: "a") &+ 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- UInt8(ascii: "A") &+ 10
                default: nil
                }
            }
            let ok = withUnsafeMutableBytes(of: &value) { out -> Bool in
                while index < 36 {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        guard bytes[index] == UInt8(ascii: "-") else { return false }
                        index += 1
                        continue
                    }
                    guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return false }
                    out[byte] = high << 4 | low
                    byte += 1
                    index += 2
                }
                return true
            }
            return ok ? value : nil
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }
}
