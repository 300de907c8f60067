/// Writes a run's results into docs/PERFORMANCE.md.
///
/// Only the part between the two markers is generated; everything around it is kept, so the
/// document can carry hand-written analysis. A document without the markers is written anew.
public enum PerformanceDocument {
    static let beginMarker = "<!-- BEGIN GENERATED RESULTS: Benchmarks/run.sh --write rewrites this part -->"
    static let endMarker = "<!-- END GENERATED RESULTS -->"

    /// The new document text: `existing` with its generated part replaced.
    public static func update(
        existing: String?,
        results: BenchmarkResults,
        outcomes: [TargetOutcome],
        run: RunDescription
    ) -> String {
        let generated = self.generatedPart(results: results, outcomes: outcomes, run: run)
        if let existing,
            let begin = existing.range(of: self.beginMarker),
            let end = existing.range(of: self.endMarker, range: begin.upperBound..<existing.endIndex)
        {
            return String(existing[..<begin.lowerBound]) + generated + String(existing[end.upperBound...])
        }
        return self.preamble + "\n" + generated + "\n" + self.method
    }

    static func generatedPart(results: BenchmarkResults, outcomes: [TargetOutcome], run: RunDescription) -> String {
        """
        \(self.beginMarker)
        ## Latest results

        Measured \(run.date) at revision `\(run.revision)` with `\(run.command)`, on \(run.cores) cores \
        (\(run.cpuModel)); client and server on the same machine, one connection per scenario.
        Settings: \(run.settings).

        ### Targets

        \(TargetTable.make(outcomes).markdown())

        ### All scenarios

        QPS, latencies and CPU time per RPC (client process + server process) from the timing
        window; allocations per RPC from the allocation window (client process + server process);
        server write syscalls per response from the kernel's `syscw` of the server process (every
        write/writev, event-loop wake-ups included), and of those the write/writev calls on sockets.
        "other CPU": what other processes on the machine used during the timing window, in % of one
        core; a high value marks a disturbed measurement.

        \(ResultsTable.make(results).markdown())

        ### RPCKit vs grpc-swift-2 and raw NIO

        QPS ratios: RPCKit / other (higher is better). Latency ratios: RPCKit / other (lower is better).

        \(RatioTable.make(results).markdown())
        \(self.endMarker)
        """
    }

    static let preamble = """
        # Performance

        How fast RPCKit is, measured against grpc-swift-2 (the RPC stack it replaces) and against a
        raw SwiftNIO + NIOSSL echo (the ceiling of any protocol on the same TLS and event-loop
        machinery). Every number below comes from one command, run on one machine:

        ```
        Benchmarks/run.sh --write
        ```

        It builds the benchmark package (`Benchmarks/`, a separate SwiftPM package that CI does not
        build) in release mode, makes certificates in a temporary folder, measures every scenario of
        the three implementations, prints the tables and rewrites the generated part of this file.
        `Benchmarks/README.md` explains each number and the measuring method in detail.

        """

    static let method = """

        ## Method in short

        - **Calls**: unary `pixecom.testing.v1.EchoService/Echo`; the request's `payload` is echoed
          in the response. RPCKit and grpc-swift-2 use the same generated message types; raw NIO
          echoes `[4-byte big-endian length][payload]` frames as they are (no protobuf, no RPC
          machinery).
        - **Transport**: mutual TLS 1.3 with the same CA for all three (server `stats`, client
          `orders`; the client verifies `stats.pixecom.internal`, the server requires a client
          certificate); one TCP connection on 127.0.0.1 per scenario.
        - **Processes**: the server runs in a child process of the benchmark executable, so that its
          allocations, CPU time and syscalls are counted apart from the client's.
        - **Load**: N worker tasks each make one call after the other, keeping exactly N calls in
          flight (closed loop). Warm-up first, then the timing window (QPS, HdrHistogram of
          latencies), then the allocation window (malloc interposer counting in both processes).
        - **Settings of note**: RPCKit's server is configured with `maxConcurrentCallsPerConnection`
          above the highest in-flight count (its default of 100 would reject most calls at 1024 in
          flight); its logger is at `.error`, while in production RPCKit writes one info line per
          call. grpc-swift-2 runs with its defaults.
        """
}
