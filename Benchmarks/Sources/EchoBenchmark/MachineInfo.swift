import Foundation

/// The machine the benchmark runs on.
enum MachineInfo {
    /// `model name` of the first CPU in /proc/cpuinfo.
    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown CPU"
    }

    /// CPUs online (what `nproc` prints).
    static var cores: Int {
        ProcessInfo.processInfo.activeProcessorCount
    }

    /// The 1-minute load average, from /proc/loadavg.
    static var loadAverage: Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}
