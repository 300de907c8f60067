import EchoBenchmarkCore

/// How long each window of a scenario lasts, and when a measurement counts as disturbed.
struct LoadSettings: Sendable {
    /// Warm-up before timing.
    var warmup: Duration
    /// Warm-up when many calls are in flight (`inFlight >= 256`), which needs longer to settle.
    var longWarmup: Duration
    /// The timing window: QPS, latencies, server write syscalls.
    var timing: Duration
    /// The allocation window (at least; it grows until 200 calls completed, up to 10 s).
    var allocationWindow: Duration
    /// A measurement during whose timing window other processes used more CPU than this (in
    /// cores) counts as disturbed and is repeated.
    var disturbanceThreshold: Double
    /// How often a disturbed measurement is repeated (the least disturbed attempt is kept).
    var retriesWhenDisturbed: Int
    /// Before repeating, wait at most this long for the machine to become quiet.
    var quietWait: Duration
    /// Every scenario is measured this often on every implementation, the implementations
    /// alternating; the measurement with the median QPS is reported.
    var rounds: Int

    func warmup(for scenario: Scenario) -> Duration {
        scenario.inFlight >= 256 ? self.longWarmup : self.warmup
    }

    /// E.g. `3 rounds (the median QPS of each is reported), warm-up 1.5 s (3 s at >= 256 in
    /// flight), timing window 4 s, allocation window 1 s; a measurement is repeated up to 1x when
    /// other processes used more than 25% of a core during it`.
    var description: String {
        (self.rounds > 1 ? "\(self.rounds) rounds per scenario (the measurement with the median QPS is reported), " : "")
            + "warm-up \(Self.seconds(self.warmup)) (\(Self.seconds(self.longWarmup)) at >= 256 in flight), "
            + "timing window \(Self.seconds(self.timing)), allocation window \(Self.seconds(self.allocationWindow)); "
            + "a measurement is repeated up to \(self.retriesWhenDisturbed)x when other processes used more than "
            + "\(Format.cores(self.disturbanceThreshold)) of a core during it"
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
