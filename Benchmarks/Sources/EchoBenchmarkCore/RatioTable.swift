/// RPCKit against grpc-swift-2 and against raw NIO, per scenario.
///
/// QPS ratios are RPCKit divided by the other (higher is better for RPCKit); latency ratios are
/// RPCKit's latency divided by the other's (lower is better for RPCKit).
public enum RatioTable {
    public static func make(_ results: BenchmarkResults) -> TextTable {
        var table = TextTable(
            headers: [
                "payload", "in flight", "QPS RPCKit/gRPC", "p99 RPCKit/gRPC", "p50 RPCKit/gRPC", "QPS RPCKit/raw NIO",
            ],
            leftAlignedColumns: [0]
        )
        for scenario in results.scenarios {
            guard let rpckit = results.measurement(.rpckit, scenario) else { continue }
            let grpc = results.measurement(.grpc, scenario)
            let raw = results.measurement(.rawNIO, scenario)
            table.append([
                scenario.payloadLabel,
                "\(scenario.inFlight)",
                Format.ratio(grpc.map { Self.ratio(rpckit.callsPerSecond, $0.callsPerSecond) }),
                Format.ratio(grpc.map { Self.ratio(Double(rpckit.p99), Double($0.p99)) }),
                Format.ratio(grpc.map { Self.ratio(Double(rpckit.p50), Double($0.p50)) }),
                Format.ratio(raw.map { Self.ratio(rpckit.callsPerSecond, $0.callsPerSecond) }),
            ])
        }
        return table
    }

    static func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        denominator > 0 ? numerator / denominator : .nan
    }
}
