import Foundation
import NIOConcurrencyHelpers

/// The independent C client of Tests/CClient (`pixrpc-client`): built once per test process by
/// Tests/CClient/build.sh, run as a child process.
enum CClient {
    static let directory = TestEnvironment.packageRoot.appendingPathComponent("Tests/CClient")

    /// What one run of a program produced.
    struct Output: Sendable, CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The program outlived its timeout and was terminated.
        var timedOut: Bool

        var description: String {
            let killed = self.timedOut ? " (terminated after its timeout)" : ""
            return "exit status \(self.status)\(killed)\n--- stdout\n\(self.stdout)--- stderr\n\(self.stderr)"
        }
    }

    /// The build, shared by every test of the process (build.sh itself skips work when the binary
    /// is up to date, and serializes concurrent runs from several test processes).
    private static let build = Task<URL, any Error> {
        let output = try await runProgram(directory.appendingPathComponent("build.sh"), [], timeout: .seconds(300))
        let path = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard output.status == 0, !output.timedOut, path.hasPrefix("/") else {
            throw TestSetupError("Tests/CClient/build.sh failed: \(output)")
        }
        return URL(fileURLWithPath: path)
    }

    /// The built `pixrpc-client`.
    static func binary() async throws -> URL {
        try await self.build.value
    }

    /// Runs `pixrpc-client` with `arguments` to its end (terminated after `timeout`).
    static func run(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> Output {
        try await self.runProgram(try await self.binary(), arguments, timeout: timeout)
    }

    /// Runs a program to its end without blocking a thread of the cooperative pool: its exit
    /// arrives through `terminationHandler`, its output goes to temporary files (no pipe can fill
    /// up and stall it), and a watchdog terminates it when it outlives `timeout`.
    static func runProgram(_ executable: URL, _ arguments: [String], timeout: Duration) async throws -> Output {
        let directory = try TestEnvironment.temporaryDirectory("pixrpc-run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutURL = directory.appendingPathComponent("stdout")
        let stderrURL = directory.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
            FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        else {
            throw TestSetupError("cannot create output files in \(directory.path)")
        }
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        let watched = WatchedProcess(process)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            watched.terminateIfRunning()
        }
        defer { watchdog.cancel() }

        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                continuation.resume(returning: finished.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                // `terminationHandler` never runs for a process that did not start.
                process.terminationHandler = nil
                continuation.resume(throwing: TestSetupError("cannot run \(executable.path): \(error)"))
            }
        }
        return Output(
            status: status,
            stdout: String(decoding: try Data(contentsOf: stdoutURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: stderrURL), as: UTF8.self),
            timedOut: watched.timedOut.withLockedValue { $0 }
        )
    }
}

/// A started `Process`, shared with the watchdog that ends it. `Process` is not `Sendable`, but
/// `isRunning` and `terminate` may be called from any thread, and nothing else is used
/// concurrently.
private final class WatchedProcess: @unchecked Sendable {
    let process: Process
    let timedOut = NIOLockedValueBox(false)

    init(_ process: Process) {
        self.process = process
    }

    func terminateIfRunning() {
        guard self.process.isRunning else { return }
        self.timedOut.withLockedValue { $0 = true }
        self.process.terminate()
    }
}
