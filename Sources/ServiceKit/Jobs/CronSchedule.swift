import Foundation

/// A cron schedule, in UTC: five fields (minute, hour, day of month, month, day of week), or six
/// with seconds first. Each field is `*`, a value, a range `a-b`, a step `*/n` or `a-b/n`, or a
/// comma-separated list of those; months and days of the week may be named (`JAN`, `MON`), and
/// Sunday is 0 or 7. As in Vixie cron, when both day fields are restricted a day matches either.
/// `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` stand for their usual expressions.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool

    public var description: String { self.expression }

    public init(_ expression: String) throws {
        self.expression = expression
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        let text = aliases[expression.trimmingCharacters(in: .whitespaces).lowercased()] ?? expression
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError(
                expression: expression,
                problem: "has \(fields.count) fields; expected 5 (minute hour day month weekday) or 6 (seconds first)")
        }
        if fields.count == 5 { fields.insert("0", at: 0) }
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        self.seconds = try Self.field(fields[0], name: "second", range: 0...59, expression: expression)
        self.minutes = try Self.field(fields[1], name: "minute", range: 0...59, expression: expression)
        self.hours = try Self.field(fields[2], name: "hour", range: 0...23, expression: expression)
        self.daysOfMonth = try Self.field(fields[3], name: "day of month", range: 1...31, expression: expression)
        self.months = try Self.field(fields[4], name: "month", range: 1...12, names: months, nameBase: 1, expression: expression)
        var weekdays = try Self.field(fields[5], name: "day of week", range: 0...7, names: days, nameBase: 0, expression: expression)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }  // 7 is Sunday too
        self.daysOfWeek = weekdays
        self.daysOfMonthRestricted = !fields[3].hasPrefix("*")
        self.daysOfWeekRestricted = !fields[5].hasPrefix("*")
    }

    /// The first scheduled time strictly after `date`, or nil when there is none within eight
    /// years (a schedule such as 30 February).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = Date(timeIntervalSince1970: (date.timeIntervalSince1970 + 1).rounded(.down))
        var c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: start)
        let limit = (c.year ?? 1970) + 8
        func normalize() -> Bool {
            guard
                let date = calendar.date(
                    from: DateComponents(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second))
            else { return false }
            c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
            return true
        }
        while c.year! <= limit {
            if !Self.has(self.months, c.month!) {
                c.month! += 1
                c.day = 1
                c.hour = 0
                c.minute = 0
                c.second = 0
            } else if !self.dayMatches(day: c.day!, weekday: c.weekday! - 1) {
                c.day! += 1
                c.hour = 0
                c.minute = 0
                c.second = 0
            } else if !Self.has(self.hours, c.hour!) {
                c.hour! += 1
                c.minute = 0
                c.second = 0
            } else if !Self.has(self.minutes, c.minute!) {
                c.minute! += 1
                c.second = 0
            } else if !Self.has(self.seconds, c.second!) {
                c.second! += 1
            } else {
                return calendar.date(
                    from: DateComponents(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second))
            }
            guard normalize() else { return nil }
        }
        return nil
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        let byMonth = Self.has(self.daysOfMonth, day)
        let byWeek = Self.has(self.daysOfWeek, weekday)
        switch (self.daysOfMonthRestricted, self.daysOfWeekRestricted) {
        case (true, true): return byMonth || byWeek
        case (true, false): return byMonth
        case (false, true): return byWeek
        case (false, false): return true
        }
    }

    static func has(_ set: UInt64, _ value: Int) -> Bool { set & (1 << UInt64(value)) != 0 }

    static func field(
        _ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0, expression: String
    ) throws -> UInt64 {
        func fail(_ problem: String) -> CronError {
            CronError(expression: expression, problem: "\(name) field \"\(text)\": \(problem)")
        }
        func value(_ part: Substring) throws -> Int {
            if let index = names.firstIndex(of: part.uppercased()) { return index + nameBase }
            guard let number = Int(part) else { throw fail("\"\(part)\" is not a number") }
            guard range.contains(number) else { throw fail("\(number) is outside \(range.lowerBound)-\(range.upperBound)") }
            return number
        }
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { throw fail("\"\(item)\" is not a value, range or step") }
            var step = 1
            if parts.count == 2 {
                guard let parsed = Int(parts[1]), parsed >= 1 else { throw fail("step \"\(parts[1])\" must be a whole number from 1") }
                step = parsed
            }
            let low: Int
            let high: Int
            if parts[0] == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = parts[0].firstIndex(of: "-") {
                low = try value(parts[0][..<dash])
                high = try value(parts[0][parts[0].index(after: dash)...])
                guard low <= high else { throw fail("range \(low)-\(high) runs backwards") }
            } else {
                low = try value(parts[0])
                high = parts.count == 2 ? range.upperBound : low
            }
            for v in stride(from: low, through: high, by: step) { set |= 1 << UInt64(v) }
        }
        return set
    }
}

/// A cron expression that cannot be parsed: which part, and why.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    public let problem: String

    public init(expression: String, problem: String) {
        self.expression = expression
        self.problem = problem
    }

    public var description: String { "cron \"\(self.expression)\": \(self.problem)" }
}
