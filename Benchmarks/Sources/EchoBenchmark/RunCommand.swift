import ArgumentParser
import EchoBenchmarkCore
import Foundation

/// Measures every scenario on every implementation and prints the results, the ratios and the
/// targets; optionally writes them into docs/PERFORMANCE.md.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the benchmark (normally through Benchmarks/run.sh)."
    )

    @Option(help: "The folder made by scripts/make-certs.sh.")
    var certificates: String

    @Option(help: "Comma-separated implementations: rpckit, grpc, raw-nio.")
    var implementations = "rpckit,grpc,raw-nio"

    @Option(help: "Comma-separated payload sizes in bytes.")
    var payloadSizes = "0,256,16384"

    @Option(help: "Comma-separated numbers of calls in flight.")
    var inFlight = "1,64,1024"

    @Option(help: "Warm-up seconds per scenario.")
    var warmup = 1.5

    @Option(help: "Warm-up seconds when 256 or more calls are in flight.")
    var longWarmup = 3.0

    @Option(help: "Seconds of the timing window.")
    var duration = 4.0

    @Option(help: "Seconds of the allocation-counting window.")
    var allocationWindow = 1.0

    @Option(help: "Repeat a measurement when other processes used more than this share of a core (0.25 = 25 %) during its timing window.")
    var disturbanceThreshold = 0.25

    @Option(help: "How often a disturbed measurement is repeated at most.")
    var retriesWhenDisturbed = 1

    @Option(help: "Seconds to wait at most for the machine to become quiet before repeating a measurement.")
    var quietWait = 10.0

    @Option(
        help:
            "Measure every scenario this many times per implementation, alternating implementations, and report the measurement with the median QPS."
    )
    var rounds = 3

    @Option(help: "Rewrite the generated part of this Markdown file (docs/PERFORMANCE.md) with the results.")
    var updateDocument: String?

    @Option(help: "The command to name in the document.")
    var command = "Benchmarks/run.sh"

    @Option(help: "The revision measured, named in the document.")
    var revision = "unknown"

    func validate() throws {
        _ = try self.parsedImplementations()
        _ = try Self.numbers(self.payloadSizes, name: "payload sizes", minimum: 0)
        _ = try Self.numbers(self.inFlight, name: "in-flight counts", minimum: 1)
        guard self.rounds >= 1 else { throw ValidationError("rounds must be at least 1, got \(self.rounds)") }
    }

    func run() async throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let settings = LoadSettings(
            warmup: .seconds(self.warmup),
            longWarmup: .seconds(self.longWarmup),
            timing: .seconds(self.duration),
            allocationWindow: .seconds(self.allocationWindow),
            disturbanceThreshold: self.disturbanceThreshold,
            retriesWhenDisturbed: self.retriesWhenDisturbed,
            quietWait: .seconds(self.quietWait),
            rounds: self.rounds
        )
        let scenarios = Scenario.grid(
            payloadSizes: try Self.numbers(self.payloadSizes, name: "payload sizes", minimum: 0),
            inFlight: try Self.numbers(self.inFlight, name: "in-flight counts", minimum: 1)
        )
        if !AllocationCounter.isInterposed {
            BenchmarkRunner.log("warning: the malloc interposer is not preloaded; allocations are not counted (use run.sh)")
        }
        if let load = MachineInfo.loadAverage, load > 0.5 {
            BenchmarkRunner.log("warning: load average is \(load) before the run; other work on this machine skews the numbers")
        }
        let runner = BenchmarkRunner(
            executable: executable,
            certificates: CertificateFiles(directory: self.certificates),
            settings: settings,
            implementations: try self.parsedImplementations(),
            scenarios: scenarios
        )
        let results = try await runner.run()
        let outcomes = PerformanceTarget.projectTargets.map { $0.evaluate(results) }

        print("\nResults (\(MachineInfo.cores) cores, \(MachineInfo.cpuModel); \(settings.description))\n")
        print(ResultsTable.make(results).plainText())
        print("\nRPCKit vs grpc-swift-2 and raw NIO (QPS: RPCKit/other, higher is better; latency: RPCKit/other, lower is better)\n")
        print(RatioTable.make(results).plainText())
        print("\nTargets\n")
        print(TargetTable.make(outcomes).plainText())
        for measured in results.measurements where measured.failedCalls > 0 {
            print(
                "\n\(measured.implementation.displayName) \(measured.scenario.label): \(measured.failedCalls) failed calls, first: \(measured.firstError ?? "?")"
            )
        }

        if let path = self.updateDocument {
            let run = RunDescription(
                command: self.command,
                date: Date().ISO8601Format(),
                cpuModel: MachineInfo.cpuModel,
                cores: MachineInfo.cores,
                revision: self.revision,
                settings: settings.description
            )
            let existing = try? String(contentsOfFile: path, encoding: .utf8)
            let document = PerformanceDocument.update(existing: existing, results: results, outcomes: outcomes, run: run)
            try document.write(toFile: path, atomically: true, encoding: .utf8)
            print("\nwrote \(path)")
        }
    }

    private func parsedImplementations() throws -> [Implementation] {
        try self.implementations.split(separator: ",").map { name in
            guard let implementation = Implementation(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown implementation '\(name)'; use rpckit, grpc or raw-nio")
            }
            return implementation
        }
    }

    private static func numbers(_ list: String, name: String, minimum: Int) throws -> [Int] {
        try list.split(separator: ",").map { text in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= minimum else {
                throw ValidationError("\(name) must be whole numbers >= \(minimum), got '\(text)'")
            }
            return value
        }
    }
}
