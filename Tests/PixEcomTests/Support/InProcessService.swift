import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Testing

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

    /// Graceful shutdown; after 30 s, cancellation; after 30 s more, the wait is given up: the
    /// test gets an issue naming this member with its log tail (and status -1) instead of
    /// hanging the whole test run.
    @discardableResult
    func terminate() async -> Int32 {
        let (group, task) = self.state.withLock { ($0.group, $0.task) }
        guard let group, let task else { return 0 }
        await group.triggerGracefulShutdown()
        let name = self.name
        let outcome = FirstOutcome()
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            outcome.waiter.withLock { $0 = continuation }
            Task {
                outcome.resume(await task.value)
            }
            Task {
                try? await Task.sleep(for: .seconds(30))
                guard outcome.isWaiting else { return }
                FileHandle.standardError.write(Data("\(name) did not stop within 30 s of its graceful shutdown: cancelling it\n".utf8))
                task.cancel()
                try? await Task.sleep(for: .seconds(30))
                outcome.resume(nil)
            }
        }
        guard let ended else {
            Issue.record("\(name) did not stop within 60 s of its graceful shutdown, cancelled after 30 s:\n\(self.logTail(lines: 40))")
            return -1
        }
        return ended
    }

    func logTail(lines: Int) -> String {
        self.log.tail(lines)
    }
}

/// Whichever of an exit status or a give-up comes first, delivered once.
private final class FirstOutcome: Sendable {
    let waiter = Mutex<CheckedContinuation<Int32?, Never>?>(nil)

    var isWaiting: Bool { self.waiter.withLock { $0 != nil } }

    func resume(_ status: Int32?) {
        self.waiter.withLock { $0.take() }?.resume(returning: status)
    }
}
