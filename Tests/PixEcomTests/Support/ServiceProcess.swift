import Foundation

/// One PixEcom executable started as a separate process, with its output in a log file.
final class ServiceProcess: SystemMember, @unchecked Sendable {
    let name: String
    let executable: String
    let environment: [String: String]
    let logFile: URL
    let readyFile: URL
    private var process: Process?

    /// Ports the process reported in its ready file.
    private(set) var ports: [String: Int] = [:]

    init(name: String, executable: String, environment: [String: String], directory: URL) {
        self.name = name
        self.executable = executable
        self.environment = environment
        self.logFile = directory.appendingPathComponent("\(name).log")
        self.readyFile = directory.appendingPathComponent("\(name).ready.json")
    }

    /// Starts the process and waits until it has written its ready file.
    func start(timeout: Duration) async throws {
        try await self.start(timeout: timeout, arguments: [])
    }

    /// Starts the process with `arguments` and waits until it has written its ready file.
    func start(timeout: Duration, arguments: [String]) async throws {
        try? FileManager.default.removeItem(at: self.readyFile)
        if !FileManager.default.fileExists(atPath: self.logFile.path) {
            _ = FileManager.default.createFile(atPath: self.logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: self.logFile)
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = TestEnvironment.binDirectory.appendingPathComponent(self.executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PIXECOM_") }
        environment.merge(self.environment) { _, new in new }
        environment["PIXECOM_READY_FILE"] = self.readyFile.path
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let data = FileManager.default.contents(atPath: self.readyFile.path),
                let ports = try? JSONSerialization.jsonObject(with: data) as? [String: Int]
            {
                self.ports = ports
                return
            }
            guard process.isRunning else {
                throw TestSetupError("\(self.name) exited with status \(process.terminationStatus) before it was ready:\n\(self.logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("\(self.name) was not ready after \(timeout):\n\(self.logTail())")
    }

    /// SIGKILL: the process gets no chance to clean up.
    /// The running process's id, if it runs.
    var processIdentifier: Int32? {
        guard let process = self.process, process.isRunning else { return nil }
        return process.processIdentifier
    }

    /// The scheduling policy (as in `sched_setscheduler`) of each thread of the process whose
    /// name starts with `prefix`, read from /proc.
    func schedulingPolicies(ofThreadsNamed prefix: String) throws -> [Int] {
        guard let pid = self.processIdentifier else { return [] }
        let tasks = "/proc/\(pid)/task"
        return try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap { tid -> Int? in
            let name = (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)) ?? ""
            guard name.hasPrefix(prefix), let stat = try? String(contentsOfFile: "\(tasks)/\(tid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after the name start at field 3; the policy is field 41.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 38 ? Int(fields[38]) : nil
        }
    }

    /// CPU time so far of each thread of the process, in nanoseconds, by thread id, with the
    /// thread's name (from /proc/PID/task/TID/schedstat and comm).
    func threadCPUTimes() throws -> [Int: (name: String, nanoseconds: UInt64)] {
        guard let pid = self.processIdentifier else { return [:] }
        let tasks = "/proc/\(pid)/task"
        var times: [Int: (name: String, nanoseconds: UInt64)] = [:]
        for tid in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            guard let id = Int(tid),
                let schedstat = try? String(contentsOfFile: "\(tasks)/\(tid)/schedstat", encoding: .utf8),
                let first = schedstat.split(separator: " ").first, let nanoseconds = UInt64(first)
            else { continue }
            let name = (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)) ?? ""
            times[id] = (name.trimmingCharacters(in: .whitespacesAndNewlines), nanoseconds)
        }
        return times
    }

    func kill() {
        guard let process = self.process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// How a process ended: `exited(status)` or `signalled(signal)`.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        case stillRunning

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .stillRunning: "still running"
            }
        }
    }

    /// Sends `signal` and waits up to `timeout` for the process to end (SIGKILL after that).
    func stop(signal: Int32, timeout: Duration = .seconds(15)) async -> Ending {
        guard let process = self.process else { return .exited(0) }
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        let end = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            self.kill()
            return .stillRunning
        }
        return process.terminationReason == .exit ? .exited(process.terminationStatus) : .signalled(process.terminationStatus)
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func terminate() async -> Int32 {
        guard let process = self.process else { return 0 }
        if process.isRunning { process.terminate() }
        for _ in 0..<300 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { self.kill() }
        return process.terminationStatus
    }

    /// The last lines the process wrote, for failure messages.
    func logTail(lines: Int) -> String {
        guard let data = FileManager.default.contents(atPath: self.logFile.path) else { return "(no log)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
