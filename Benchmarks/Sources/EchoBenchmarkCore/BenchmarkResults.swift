/// Every measurement of one run, with the machine and settings it ran with.
public struct BenchmarkResults: Sendable {
    public var measurements: [ScenarioMeasurement] = []
    /// The scenarios in the order they ran.
    public let scenarios: [Scenario]
    /// The implementations in the order they ran.
    public let implementations: [Implementation]

    public init(scenarios: [Scenario], implementations: [Implementation]) {
        self.scenarios = scenarios
        self.implementations = implementations
    }

    public func measurement(_ implementation: Implementation, _ scenario: Scenario) -> ScenarioMeasurement? {
        self.measurements.first { $0.implementation == implementation && $0.scenario == scenario }
    }
}
