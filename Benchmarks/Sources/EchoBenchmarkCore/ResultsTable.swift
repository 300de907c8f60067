/// The main table: one row per implementation and scenario.
public enum ResultsTable {
    public static func make(_ results: BenchmarkResults) -> TextTable {
        var table = TextTable(
            headers: [
                "implementation", "payload", "in flight", "QPS", "p50", "p99", "p99.9", "CPU us/RPC (c+s)",
                "allocs/RPC (c+s)", "client", "server", "server writes/resp", "socket writes/resp", "errors", "other CPU",
            ],
            leftAlignedColumns: [0]
        )
        for scenario in results.scenarios {
            for implementation in results.implementations {
                guard let measured = results.measurement(implementation, scenario) else { continue }
                table.append([
                    implementation.displayName,
                    scenario.payloadLabel,
                    "\(scenario.inFlight)",
                    Format.rate(measured.callsPerSecond),
                    Format.latency(nanoseconds: measured.p50),
                    Format.latency(nanoseconds: measured.p99),
                    Format.latency(nanoseconds: measured.p999),
                    Format.decimal(measured.cpuPerCall),
                    Format.decimal(measured.allocationsPerCall),
                    Format.decimal(measured.clientAllocationsPerCall),
                    Format.decimal(measured.serverAllocationsPerCall),
                    Format.decimal(measured.serverWriteSyscallsPerResponse, digits: 2),
                    Format.decimal(measured.serverSocketWritesPerResponse, digits: 2),
                    "\(measured.failedCalls)",
                    Format.cores(measured.otherProcessesCores),
                ])
            }
        }
        return table
    }
}
