import EchoBenchmarkCore
import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// A server child process (`EchoBenchmark serve ...`) and the parent's end of its control pipe.
///
/// Requests are serialized by a lock and the blocking pipe I/O runs on NIO's thread pool, so
/// neither the event loops nor the Swift concurrency threads of the client wait on it.
final class ServerProcess: Sendable {
    let implementation: Implementation
    let port: Int
    private let process: Process
    /// Held for a whole request (command and reply), so replies never interleave.
    private let requestLock = NIOLock()
    private let commands: FileHandle
    private let replies: LineReader

    private init(implementation: Implementation, port: Int, process: Process, commands: FileHandle, replies: LineReader) {
        self.implementation = implementation
        self.port = port
        self.process = process
        self.commands = commands
        self.replies = replies
    }

    /// Starts `executable serve` for `implementation` and waits for it to report its port.
    /// The child inherits the environment, LD_PRELOAD of the malloc interposer included.
    static func launch(
        executable: String,
        implementation: Implementation,
        certificates: CertificateFiles,
        maxConcurrentCalls: Int
    ) async throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "serve",
            "--implementation", implementation.rawValue,
            "--certificates", certificates.directory,
            "--max-concurrent-calls", "\(maxConcurrentCalls)",
        ]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let replies = LineReader(stdout.fileHandleForReading)
        let first = try await NIOThreadPool.singleton.runIfActive { try replies.nextLine() }
        guard first.hasPrefix(ServerControl.readyPrefix), let port = Int(first.dropFirst(ServerControl.readyPrefix.count))
        else {
            process.terminate()
            throw ServerProcessError.unexpectedReply(implementation, first)
        }
        return ServerProcess(
            implementation: implementation,
            port: port,
            process: process,
            commands: stdin.fileHandleForWriting,
            replies: replies
        )
    }

    /// The child's process id.
    var processIdentifier: Int32 { self.process.processIdentifier }

    /// Sends one control command and returns the reply line.
    func request(_ command: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive {
            try self.requestLock.withLock {
                try self.commands.write(contentsOf: Data((command + "\n").utf8))
                return try self.replies.nextLine()
            }
        }
    }

    /// The server's counters now.
    func snapshot() async throws -> CounterSnapshot {
        let reply = try await self.request("snapshot")
        guard let snapshot = CounterSnapshot(line: reply) else {
            throw ServerProcessError.unexpectedReply(self.implementation, reply)
        }
        return snapshot
    }

    /// Turns the server's allocation counting on or off.
    func countAllocations(_ on: Bool) async throws {
        let reply = try await self.request(on ? "allocations on" : "allocations off")
        guard reply == "ok" else { throw ServerProcessError.unexpectedReply(self.implementation, reply) }
    }

    /// Closes the control pipe (the child exits on its own) and waits for the child to end.
    func stop() async {
        try? self.commands.close()
        _ = try? await NIOThreadPool.singleton.runIfActive {
            let deadline = Date().addingTimeInterval(5)
            while self.process.isRunning, Date() < deadline { usleep(10_000) }
            if self.process.isRunning { self.process.terminate() }
        }
    }
}

/// The server child did not answer as expected.
enum ServerProcessError: Error, CustomStringConvertible {
    case unexpectedReply(Implementation, String)
    case closed

    var description: String {
        switch self {
        case .unexpectedReply(let implementation, let line): "\(implementation.displayName) server replied '\(line)'"
        case .closed: "the server process closed its output"
        }
    }
}
