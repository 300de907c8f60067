import EchoBenchmarkCore
import MallocInterposerSwift
import Testing

/// The report logic: targets, tables and the generated part of docs/PERFORMANCE.md.
@Suite struct ReportTests {
    static func measurement(
        _ implementation: Implementation,
        _ scenario: Scenario,
        callsPerSecond: Int,
        p50Micros: UInt64,
        p99Micros: UInt64,
        allocations: Double = 10,
        writes: Double = 0.1
    ) -> ScenarioMeasurement {
        ScenarioMeasurement(
            implementation: implementation,
            scenario: scenario,
            timedCalls: callsPerSecond * 2,
            timedSeconds: 2,
            p50: p50Micros * 1000,
            p99: p99Micros * 1000,
            p999: p99Micros * 2000,
            clientAllocationsPerCall: allocations / 2,
            serverAllocationsPerCall: allocations / 2,
            serverWriteSyscallsPerResponse: writes,
            serverSocketWritesPerResponse: writes,
            clientCPUPerCall: 5,
            serverCPUPerCall: 4,
            otherProcessesCores: 0,
            failedCalls: 0,
            firstError: nil
        )
    }

    static func results(rpckitQPS: Int) -> BenchmarkResults {
        let scenarios = [Scenario.singleCall, Scenario.headline]
        var results = BenchmarkResults(scenarios: scenarios, implementations: Implementation.allCases)
        results.measurements = [
            Self.measurement(.rpckit, .singleCall, callsPerSecond: 10_000, p50Micros: 100, p99Micros: 200),
            Self.measurement(.grpc, .singleCall, callsPerSecond: 1_000, p50Micros: 800, p99Micros: 1_000),
            Self.measurement(.rawNIO, .singleCall, callsPerSecond: 20_000, p50Micros: 50, p99Micros: 90),
            Self.measurement(.rpckit, .headline, callsPerSecond: rpckitQPS, p50Micros: 900, p99Micros: 2_000),
            Self.measurement(.grpc, .headline, callsPerSecond: 5_000, p50Micros: 13_000, p99Micros: 20_000),
            Self.measurement(.rawNIO, .headline, callsPerSecond: 200_000, p50Micros: 300, p99Micros: 500),
        ]
        return results
    }

    @Test func targetsPassAndFailOnTheirThresholds() {
        let verdicts = { (qps: Int) in PerformanceTarget.projectTargets.map { $0.evaluate(Self.results(rpckitQPS: qps)).verdict } }
        // 60k: 12x gRPC but 0.3x raw NIO.
        #expect(verdicts(60_000) == [.pass, .pass, .pass, .fail, .pass, .pass])
        #expect(verdicts(100_000) == [.pass, .pass, .pass, .pass, .pass, .pass])
        #expect(verdicts(20_000) == [.fail, .pass, .pass, .fail, .pass, .pass])
    }

    @Test func missingScenariosAreNotMeasured() {
        let empty = BenchmarkResults(scenarios: [], implementations: [])
        #expect(PerformanceTarget.projectTargets.allSatisfy { $0.evaluate(empty).verdict == .notMeasured })
    }

    @Test func ratioTableDividesRPCKitByTheOthers() {
        let markdown = RatioTable.make(Self.results(rpckitQPS: 100_000)).markdown()
        #expect(markdown.contains("| 256 B | 64 | 20.00x | 0.10x | 0.069x | 0.50x |"))
    }

    @Test func documentKeepsTheTextAroundTheGeneratedPart() {
        let run = RunDescription(
            command: "Benchmarks/run.sh --write", date: "2026-01-01T00:00:00Z", cpuModel: "CPU", cores: 2, revision: "abc", settings: "s")
        let results = Self.results(rpckitQPS: 100_000)
        let outcomes = PerformanceTarget.projectTargets.map { $0.evaluate(results) }
        let fresh = PerformanceDocument.update(existing: nil, results: results, outcomes: outcomes, run: run)
        let edited = "# Intro\n" + fresh + "\n## Analysis\nkept\n"
        let updated = PerformanceDocument.update(existing: edited, results: results, outcomes: outcomes, run: run)
        #expect(updated.hasPrefix("# Intro\n"))
        #expect(updated.hasSuffix("## Analysis\nkept\n"))
        #expect(updated.components(separatedBy: "## Latest results").count == 2)
    }

    @Test func formats() {
        #expect(Format.bytes(16 * 1024) == "16 KiB")
        #expect(Format.rate(141_235.4) == "141,235")
        #expect(Format.latency(nanoseconds: 55_300) == "55.3 us")
        #expect(Format.latency(nanoseconds: 20_400_000) == "20.4 ms")
        #expect(Format.ratio(0.07) == "0.070x")
        #expect(Format.cores(0.25) == "25%")
    }

    /// The interposer the benchmark preloads counts allocations of the process it is linked into.
    @Test func interposerCountsAllocations() {
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 8)
        buffer.deallocate()
        MallocInterposerSwift.unhook()
        #expect(MallocInterposerSwift.getStatistics().mallocCount >= 1)
    }
}
