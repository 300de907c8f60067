internal import NIOConcurrencyHelpers
internal import NIOCore
internal import Synchronization

/// Starts the handler task of each call a connection accepts, and knows when they have all
/// ended (so that `RPCServer.run` returns only after the last handler of a closed connection).
///
/// With `runsHandlersOnEventLoop` a call's task starts immediately, on the connection's event
/// loop, inside the read that delivered the request: a handler that does not suspend writes its
/// response within that same read, so the read's flush carries it, with no task hand-off, no
/// executor hop and no extra loop tick. Work after a suspension resumes on the same loop.
final class CallStarter: Sendable {
    private struct State {
        var connectionClosed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let runner: CallRunner
    private let executor: EventLoopTaskExecutor?
    /// Handlers started and not yet returned; the lock is taken only when it reaches zero.
    private let running = Atomic<Int>(0)
    private let state = NIOLockedValueBox(State())

    init(runner: CallRunner, eventLoop: (any EventLoop)?) {
        self.runner = runner
        self.executor = eventLoop.map(EventLoopTaskExecutor.init)
    }

    /// Runs `call`'s handler. Called on the connection's event loop.
    func start(_ call: IncomingCall) {
        self.running.add(1, ordering: .relaxed)
        let runner = self.runner
        if let executor = self.executor {
            Task.immediate(executorPreference: executor) {
                await runner.serve(call)
                self.ended()
            }
        } else {
            Task {
                await runner.serve(call)
                self.ended()
            }
        }
    }

    private func ended() {
        guard self.running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 else { return }
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard state.connectionClosed, self.running.load(ordering: .acquiring) == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until the connection has closed (`connectionClosed` was called) and every handler it
    /// started has returned.
    func waitUntilDone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.state.withLockedValue { state -> Bool in
                guard self.running.load(ordering: .acquiring) > 0 || !state.connectionClosed else { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The connection is gone: no more calls start.
    func connectionClosed() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.connectionClosed = true
            guard self.running.load(ordering: .acquiring) == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
