import Foundation

/// Number formatting shared by the tables.
public enum Format {
    /// `0 B`, `256 B`, `16 KiB`, `1 MiB`.
    public static func bytes(_ count: Int) -> String {
        if count >= 1024 * 1024, count % (1024 * 1024) == 0 { return "\(count / (1024 * 1024)) MiB" }
        if count >= 1024, count % 1024 == 0 { return "\(count / 1024) KiB" }
        return "\(count) B"
    }

    /// A latency given in nanoseconds: `55.3 us`, `470 us`, `2.11 ms`, `20.4 ms`.
    public static func latency(nanoseconds: UInt64) -> String {
        let micros = Double(nanoseconds) / 1000
        if micros < 100 { return String(format: "%.1f us", micros) }
        if micros < 1000 { return String(format: "%.0f us", micros) }
        if micros < 10_000 { return String(format: "%.2f ms", micros / 1000) }
        return String(format: "%.1f ms", micros / 1000)
    }

    /// Calls per second with thousands separated: `141,235`.
    public static func rate(_ value: Double) -> String {
        let whole = Int(value.rounded())
        let digits = String(whole)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return grouped
    }

    /// A value with one decimal, or `n/a` when not measured.
    public static func decimal(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%.\(digits)f", value)
    }

    /// A share of one CPU core as a percentage (`0.25` is `25%`), or `n/a`.
    public static func cores(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%.0f%%", value * 100)
    }

    /// A ratio such as `5.31x`, or `n/a`.
    public static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: value < 0.1 ? "%.3fx" : "%.2fx", value)
    }
}
