/// A target RPCKit must meet, checked against a run's measurements.
public struct PerformanceTarget: Sendable {
    /// What the target demands, e.g. `QPS >= 5x grpc-swift-2 (256 B, 64 in flight)`.
    public let requirement: String
    private let check: @Sendable (BenchmarkResults) -> (passed: Bool, measured: String)?

    public init(requirement: String, check: @escaping @Sendable (BenchmarkResults) -> (passed: Bool, measured: String)?) {
        self.requirement = requirement
        self.check = check
    }

    /// PASS or FAIL with the measured value, or NOT MEASURED when a needed scenario is missing.
    public func evaluate(_ results: BenchmarkResults) -> TargetOutcome {
        guard let (passed, measured) = self.check(results) else {
            return TargetOutcome(requirement: self.requirement, verdict: .notMeasured, measured: "scenario not run")
        }
        return TargetOutcome(requirement: self.requirement, verdict: passed ? .pass : .fail, measured: measured)
    }
}

/// The verdict on one target.
public struct TargetOutcome: Sendable {
    public enum Verdict: String, Sendable {
        case pass = "PASS"
        case fail = "FAIL"
        case notMeasured = "NOT MEASURED"
    }

    public let requirement: String
    public let verdict: Verdict
    public let measured: String
}

extension PerformanceTarget {
    /// The targets of the project (see docs/PERFORMANCE.md).
    public static let projectTargets: [PerformanceTarget] = [
        PerformanceTarget(requirement: "QPS >= 5x grpc-swift-2 (256 B, 64 in flight)") { results in
            guard let rpckit = results.measurement(.rpckit, .headline), let grpc = results.measurement(.grpc, .headline)
            else { return nil }
            let ratio = RatioTable.ratio(rpckit.callsPerSecond, grpc.callsPerSecond)
            return (
                ratio >= 5, "\(Format.ratio(ratio)) (\(Format.rate(rpckit.callsPerSecond)) vs \(Format.rate(grpc.callsPerSecond)) calls/s)"
            )
        },
        PerformanceTarget(requirement: "p99 <= 1/5 of grpc-swift-2's (256 B, 64 in flight)") { results in
            guard let rpckit = results.measurement(.rpckit, .headline), let grpc = results.measurement(.grpc, .headline)
            else { return nil }
            let ratio = RatioTable.ratio(Double(rpckit.p99), Double(grpc.p99))
            return (
                ratio <= 0.2,
                "\(Format.ratio(ratio)) (\(Format.latency(nanoseconds: rpckit.p99)) vs \(Format.latency(nanoseconds: grpc.p99)))"
            )
        },
        PerformanceTarget(requirement: "p50 <= 1/4 of grpc-swift-2's (256 B, 1 in flight)") { results in
            guard let rpckit = results.measurement(.rpckit, .singleCall), let grpc = results.measurement(.grpc, .singleCall)
            else { return nil }
            let ratio = RatioTable.ratio(Double(rpckit.p50), Double(grpc.p50))
            return (
                ratio <= 0.25,
                "\(Format.ratio(ratio)) (\(Format.latency(nanoseconds: rpckit.p50)) vs \(Format.latency(nanoseconds: grpc.p50)))"
            )
        },
        PerformanceTarget(requirement: "QPS >= 0.5x raw NIO (256 B, 64 in flight)") { results in
            guard let rpckit = results.measurement(.rpckit, .headline), let raw = results.measurement(.rawNIO, .headline)
            else { return nil }
            let ratio = RatioTable.ratio(rpckit.callsPerSecond, raw.callsPerSecond)
            return (
                ratio >= 0.5, "\(Format.ratio(ratio)) (\(Format.rate(rpckit.callsPerSecond)) vs \(Format.rate(raw.callsPerSecond)) calls/s)"
            )
        },
        PerformanceTarget(requirement: "<= 50 allocations per RPC, client + server (256 B, 64 in flight)") { results in
            guard let allocations = results.measurement(.rpckit, .headline)?.allocationsPerCall else { return nil }
            let worst = results.measurements.filter { $0.implementation == .rpckit }
                .compactMap { measured in measured.allocationsPerCall.map { (measured.scenario, $0) } }
                .max { $0.1 < $1.1 }
            let worstNote = worst.map { "; most: \(Format.decimal($0.1)) at \($0.0.label)" } ?? ""
            return (allocations <= 50, "\(Format.decimal(allocations))\(worstNote)")
        },
        PerformanceTarget(requirement: "<= 1 server write syscall per response (256 B, 64 in flight)") { results in
            guard let measured = results.measurement(.rpckit, .headline),
                let writes = measured.serverWriteSyscallsPerResponse
            else { return nil }
            let sockets = Format.decimal(measured.serverSocketWritesPerResponse, digits: 2)
            return (writes <= 1, "\(Format.decimal(writes, digits: 2)) (socket writes: \(sockets))")
        },
    ]
}
