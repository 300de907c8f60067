import Foundation

/// CPU time used by the benchmark's two processes (this one, the client, and the server child) and
/// by everything else on the machine, so that CPU per call can be reported and a measurement
/// disturbed by other work (a build, a test run) can be recognised and repeated. Read from /proc;
/// Linux only (elsewhere nothing is measured).
struct MachineLoad: Sendable {
    /// CPU time spent by everything on the machine, in clock ticks (all cores together).
    let machineBusyTicks: UInt64
    /// CPU time spent by this process (the client side), in clock ticks.
    let clientTicks: UInt64
    /// CPU time spent by the server process, in clock ticks.
    let serverTicks: UInt64
    let instant: ContinuousClock.Instant

    /// Clock ticks per second of /proc/stat (`getconf CLK_TCK`).
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The counters now; nil when /proc cannot be read.
    static func sample(serverPID: Int32) -> MachineLoad? {
        guard let busy = self.machineBusyTicks(),
            let own = self.processTicks("/proc/self/stat"),
            let server = self.processTicks("/proc/\(serverPID)/stat")
        else { return nil }
        return MachineLoad(machineBusyTicks: busy, clientTicks: own, serverTicks: server, instant: .now)
    }

    /// CPU used by other processes between `earlier` and this sample, in cores (0.5 = half a core
    /// busy all the time).
    func otherCores(since earlier: MachineLoad) -> Double {
        let seconds = BenchmarkRunner.seconds(self.instant - earlier.instant)
        guard seconds > 0 else { return 0 }
        let machine = Double(self.machineBusyTicks) - Double(earlier.machineBusyTicks)
        let benchmark = Double(self.clientTicks + self.serverTicks) - Double(earlier.clientTicks + earlier.serverTicks)
        return max(0, machine - benchmark) / Self.ticksPerSecond / seconds
    }

    /// CPU seconds the client and the server used between `earlier` and this sample.
    func benchmarkSeconds(since earlier: MachineLoad) -> (client: Double, server: Double) {
        (
            (Double(self.clientTicks) - Double(earlier.clientTicks)) / Self.ticksPerSecond,
            (Double(self.serverTicks) - Double(earlier.serverTicks)) / Self.ticksPerSecond
        )
    }

    /// user + nice + system + irq + softirq + steal of the `cpu` line of /proc/stat.
    private static func machineBusyTicks() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    }

    /// utime + stime of a process (all its threads), from /proc/PID/stat.
    private static func processTicks(_ path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let afterName = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start with field 3 (state); utime and stime are 14 and 15.
        let fields = text[text.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }
}
