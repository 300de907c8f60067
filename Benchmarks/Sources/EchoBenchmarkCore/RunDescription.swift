/// Where, when and how a run was made, printed above its results.
public struct RunDescription: Sendable {
    /// The command that produced the results, e.g. `Benchmarks/run.sh --write`.
    public let command: String
    /// The date and time of the run (UTC, ISO 8601).
    public let date: String
    /// The CPU model from /proc/cpuinfo.
    public let cpuModel: String
    /// Online CPUs.
    public let cores: Int
    /// The revision of the repository measured, e.g. `3f2c1ab-dirty`.
    public let revision: String
    /// Warm-up, timing and allocation windows, e.g. `warm-up 1.5 s (3 s at 1024 in flight), ...`.
    public let settings: String

    public init(command: String, date: String, cpuModel: String, cores: Int, revision: String, settings: String) {
        self.command = command
        self.date = date
        self.cpuModel = cpuModel
        self.cores = cores
        self.revision = revision
        self.settings = settings
    }
}
