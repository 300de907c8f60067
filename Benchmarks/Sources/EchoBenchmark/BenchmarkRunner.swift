import EchoBenchmarkCore
import Foundation
import Histogram

/// Runs every scenario against every implementation and collects the measurements.
///
/// One server child process per implementation stays up for the whole run; scenarios run in
/// order, and within a scenario the implementations run back to back, round after round, so a
/// disturbance of the machine hits neighbouring measurements of all three alike; of each
/// implementation's rounds the measurement with the median QPS is kept, since single runs of
/// the same scenario differ by 10-20 % here. Each measurement opens a new client connection. A measurement during which other processes took much CPU is repeated (see
/// `LoadSettings.disturbanceThreshold`).
struct BenchmarkRunner {
    let executable: String
    let certificates: CertificateFiles
    let settings: LoadSettings
    let implementations: [Implementation]
    let scenarios: [Scenario]

    func run() async throws -> BenchmarkResults {
        var results = BenchmarkResults(scenarios: self.scenarios, implementations: self.implementations)
        let maxConcurrentCalls = max(100, 2 * (self.scenarios.map(\.inFlight).max() ?? 0))
        // If the run fails midway, the children exit on their own when this process ends and
        // their stdin closes.
        var servers: [Implementation: ServerProcess] = [:]
        for implementation in self.implementations {
            servers[implementation] = try await ServerProcess.launch(
                executable: self.executable,
                implementation: implementation,
                certificates: self.certificates,
                maxConcurrentCalls: maxConcurrentCalls
            )
        }
        let rounds = max(1, self.settings.rounds)
        let total = self.scenarios.count * self.implementations.count * rounds
        var done = 0
        for scenario in self.scenarios {
            var measured: [Implementation: [ScenarioMeasurement]] = [:]
            for _ in 0..<rounds {
                for implementation in self.implementations {
                    guard let server = servers[implementation] else { continue }
                    let measurement = try await self.measureUndisturbed(scenario, on: server)
                    measured[implementation, default: []].append(measurement)
                    done += 1
                    Self.log(Self.progressLine(measurement, index: done, total: total))
                }
            }
            for implementation in self.implementations {
                guard let runs = measured[implementation], !runs.isEmpty else { continue }
                results.measurements.append(Self.median(runs))
            }
        }
        for server in servers.values { await server.stop() }
        return results
    }

    /// Measures, and measures again (after waiting for the machine to calm down) while other
    /// processes took more CPU than the threshold; keeps the least disturbed attempt.
    private func measureUndisturbed(_ scenario: Scenario, on server: ServerProcess) async throws -> ScenarioMeasurement {
        var best = try await self.measure(scenario, on: server)
        var retries = 0
        while let other = best.otherProcessesCores, other > self.settings.disturbanceThreshold,
            retries < self.settings.retriesWhenDisturbed
        {
            retries += 1
            Self.log(
                "      \(server.implementation.displayName) \(scenario.label): other processes used \(Format.cores(other)) "
                    + "of a core; measuring again (\(retries)/\(self.settings.retriesWhenDisturbed))"
            )
            try await self.waitForQuiet(server)
            let again = try await self.measure(scenario, on: server)
            if (again.otherProcessesCores ?? .infinity) < other { best = again }
        }
        return best
    }

    /// Waits until other processes use less CPU than the threshold for a second, at most
    /// `quietWait`.
    private func waitForQuiet(_ server: ServerProcess) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < self.settings.quietWait {
            let before = MachineLoad.sample(serverPID: server.processIdentifier)
            try await Task.sleep(for: .seconds(1))
            guard let before, let after = MachineLoad.sample(serverPID: server.processIdentifier) else { return }
            if after.otherCores(since: before) <= self.settings.disturbanceThreshold { return }
        }
    }

    /// One scenario on one implementation: warm-up, timing window, allocation window.
    private func measure(_ scenario: Scenario, on server: ServerProcess) async throws -> ScenarioMeasurement {
        let caller = try await ImplementationCatalog.connect(
            server.implementation,
            port: server.port,
            payloadSize: scenario.payloadSize,
            certificates: self.certificates
        )
        let load = LoadGenerator(caller: caller, inFlight: scenario.inFlight)
        let workers = load.start()
        let clock = ContinuousClock()

        try await Task.sleep(for: self.settings.warmup(for: scenario))

        let beforeTiming = try await server.snapshot()
        let loadBefore = MachineLoad.sample(serverPID: server.processIdentifier)
        load.enter(.timing)
        let timingStart = clock.now
        try await Task.sleep(for: self.settings.timing)
        load.enter(.warmup)
        let timingEnd = clock.now
        let loadAfter = MachineLoad.sample(serverPID: server.processIdentifier)
        let afterTiming = try await server.snapshot()

        try await server.countAllocations(true)
        AllocationCounter.start()
        load.enter(.allocationCounting)
        let allocationStart = clock.now
        try await Task.sleep(for: self.settings.allocationWindow)
        while load.completedCalls(in: .allocationCounting) < 200, clock.now - allocationStart < .seconds(10) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let clientAllocations = AllocationCounter.stop()
        load.enter(.stopped)
        try await server.countAllocations(false)
        let serverAllocations = try await server.snapshot().allocations

        await workers.value
        await caller.close()

        let timedCalls = load.completedCalls(in: .timing)
        let allocationCalls = load.completedCalls(in: .allocationCounting)
        let latencies = load.timingLatencies
        let interposed = AllocationCounter.isInterposed && allocationCalls > 0
        let responses = Double(max(timedCalls, 1))
        let cpuSeconds = loadBefore.flatMap { before in loadAfter?.benchmarkSeconds(since: before) }
        return ScenarioMeasurement(
            implementation: server.implementation,
            scenario: scenario,
            timedCalls: timedCalls,
            timedSeconds: Self.seconds(timingEnd - timingStart),
            p50: latencies.valueAtPercentile(50),
            p99: latencies.valueAtPercentile(99),
            p999: latencies.valueAtPercentile(99.9),
            clientAllocationsPerCall: interposed ? Double(clientAllocations) / Double(allocationCalls) : nil,
            serverAllocationsPerCall: interposed ? Double(serverAllocations) / Double(allocationCalls) : nil,
            serverWriteSyscallsPerResponse: timedCalls > 0
                ? Double(afterTiming.kernelWriteSyscalls - beforeTiming.kernelWriteSyscalls) / responses : nil,
            serverSocketWritesPerResponse: timedCalls > 0
                ? Double(afterTiming.socketWrites - beforeTiming.socketWrites) / responses : nil,
            clientCPUPerCall: cpuSeconds.map { $0.client * 1e6 / responses },
            serverCPUPerCall: cpuSeconds.map { $0.server * 1e6 / responses },
            otherProcessesCores: loadBefore.flatMap { before in loadAfter?.otherCores(since: before) },
            failedCalls: load.failedCalls(in: .timing) + load.failedCalls(in: .allocationCounting),
            firstError: load.firstErrorDescription
        )
    }

    /// The measurement with the median QPS (the lower middle one of an even count).
    static func median(_ runs: [ScenarioMeasurement]) -> ScenarioMeasurement {
        let sorted = runs.sorted { $0.callsPerSecond < $1.callsPerSecond }
        return sorted[(sorted.count - 1) / 2]
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func progressLine(_ measured: ScenarioMeasurement, index: Int, total: Int) -> String {
        let width = String(total).count
        let position = String(repeating: " ", count: width - String(index).count) + "\(index)/\(total)"
        var line =
            "[\(position)] \(measured.implementation.displayName.padding(toLength: 12, withPad: " ", startingAt: 0))"
            + " \(measured.scenario.label.padding(toLength: 16, withPad: " ", startingAt: 0))"
            + " \(Format.rate(measured.callsPerSecond)) calls/s"
            + "  p50 \(Format.latency(nanoseconds: measured.p50))"
            + "  p99 \(Format.latency(nanoseconds: measured.p99))"
            + "  CPU/RPC \(Format.decimal(measured.cpuPerCall)) us"
            + " (c \(Format.decimal(measured.clientCPUPerCall)) + s \(Format.decimal(measured.serverCPUPerCall)))"
            + "  allocs/RPC \(Format.decimal(measured.allocationsPerCall))"
            + "  server writes/resp \(Format.decimal(measured.serverWriteSyscallsPerResponse, digits: 2))"
            + "  other CPU \(Format.cores(measured.otherProcessesCores))"
        if measured.failedCalls > 0 {
            line += "  FAILED CALLS \(measured.failedCalls): \(measured.firstError ?? "?")"
        }
        return line
    }

    /// Progress goes to stderr; the tables go to stdout.
    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
