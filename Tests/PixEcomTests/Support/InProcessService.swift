import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// A service or the edge run inside the test process, on the runtime its executable uses
/// (`ServiceRuntime.run`, `EdgeMain.run`), with its own environment, ports, logger and metrics.
///
/// It runs in a `ServiceGroup` of its own, so `terminate` is the graceful shutdown SIGTERM would
/// start (the runtime's group stops its parts in order) and waits for the end.
final class InProcessService: SystemMember {
    typealias Run = @Sendable (RuntimeHost) async throws -> Void

    let name: String
    let environment: [String: String]
    let log = InMemoryLog()
    private let run: Run
    private let state = Mutex<State>(State())

    private struct State {
        var ports: [String: Int] = [:]
        var group: ServiceGroup?
        var task: Task<Int32, Never>?
    }

    init(name: String, environment: [String: String], run: @escaping Run) {
        self.name = name
        self.environment = environment
        self.run = run
    }

    var ports: [String: Int] { self.state.withLock { $0.ports } }

    func start(timeout: Duration) async throws {
        let level = Logger.Level(rawValue: self.environment["PIXECOM_LOG_LEVEL"] ?? "info") ?? .info
        let logger = Logger(label: self.name) { [log] label in JSONLogHandler(label: label, level: level) { log.append($0) } }
        let (ready, readiness) = AsyncStream.makeStream(of: [String: Int].self)
        let host = RuntimeHost(environment: EnvironmentReader(self.environment), logger: logger) { ports in
            readiness.yield(ports)
        }
        let run = self.run
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: ClosureService { try await run(host) }, serviceName: self.name)], logger: logger)
        )
        let task = Task {
            let status = await ServiceRuntime.exitStatus(logger: logger) { try await group.run() }
            readiness.finish()
            return status
        }
        self.state.withLock {
            $0.group = group
            $0.task = task
        }
        enum Outcome: Sendable {
            case ready([String: Int])
            case ended
            case timedOut
        }
        let outcome = await withTaskGroup(of: Outcome.self) { waiters in
            waiters.addTask { await ready.first { _ in true }.map { Outcome.ready($0) } ?? Outcome.ended }
            waiters.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await waiters.next() ?? .timedOut
            waiters.cancelAll()
            return first
        }
        switch outcome {
        case .ready(let ports):
            self.state.withLock { $0.ports = ports }
        case .ended:
            let status = await task.value
            throw TestSetupError("\(self.name) exited with status \(status) before it was ready:\n\(self.logTail())")
        case .timedOut:
            await self.terminate()
            throw TestSetupError("\(self.name) was not ready after \(timeout):\n\(self.logTail())")
        }
    }

    func kill() async {
        await self.terminate()
    }

    /// Graceful shutdown; after 30 s, cancellation.
    @discardableResult
    func terminate() async -> Int32 {
        let (group, task) = self.state.withLock { ($0.group, $0.task) }
        guard let group, let task else { return 0 }
        await group.triggerGracefulShutdown()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            task.cancel()
        }
        let status = await task.value
        watchdog.cancel()
        return status
    }

    func logTail(lines: Int) -> String {
        self.log.tail(lines)
    }
}
