import Foundation

/// Reading proto3 JSON: int64 values arrive as strings, zero values are omitted.
enum JSONValues {
    static func int64(_ value: Any?) -> Int64 {
        switch value {
        case let string as String: Int64(string) ?? .min
        case let number as NSNumber: number.int64Value
        default: 0
        }
    }

    static func string(_ value: Any?) -> String { value as? String ?? "" }

    static func double(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    /// "YYYY-MM-DD" of a day offset from `day`.
    static func day(_ day: String, plus days: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let date = formatter.date(from: day)!.addingTimeInterval(Double(days) * 86_400)
        return formatter.string(from: date)
    }

    /// The UTC calendar day of an RFC 3339 timestamp.
    static func utcDay(ofTimestamp timestamp: String) -> String {
        String(timestamp.prefix(10))
    }
}
