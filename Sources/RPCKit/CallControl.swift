import NIOConcurrencyHelpers

/// How a served call ended before its handler returned.
enum CallInterruption: Sendable {
    case deadlineExceeded
    case cancelledByClient
    case connectionClosed
}

/// Lets the connection (on its event loop) interrupt a call whose handler runs in a task.
///
/// Thread-safe. `interrupt` may be called any number of times from any thread; only the first
/// counts. `wait` returns the interruption, or `nil` once the waiting task is cancelled (the handler
/// finished first).
final class CallControl: Sendable {
    private enum State {
        case running
        case waiting(CheckedContinuation<CallInterruption?, Never>)
        case interrupted(CallInterruption)
        case finished
    }

    private let state = NIOLockedValueBox(State.running)

    func interrupt(_ reason: CallInterruption) {
        let continuation: CheckedContinuation<CallInterruption?, Never>? = self.state.withLockedValue { state in
            switch state {
            case .running:
                state = .interrupted(reason)
                return nil
            case .waiting(let continuation):
                state = .interrupted(reason)
                return continuation
            case .interrupted, .finished:
                return nil
            }
        }
        continuation?.resume(returning: reason)
    }

    /// Suspends until the call is interrupted or the calling task is cancelled.
    func wait() async -> CallInterruption? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CallInterruption?, Never>) in
                let resumeWith: CallInterruption?? = self.state.withLockedValue { state in
                    switch state {
                    case .running:
                        state = .waiting(continuation)
                        return .none
                    case .interrupted(let reason):
                        return .some(reason)
                    case .finished:
                        return .some(nil)
                    case .waiting:
                        preconditionFailure("CallControl.wait called twice")
                    }
                }
                if case .some(let value) = resumeWith {
                    continuation.resume(returning: value)
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<CallInterruption?, Never>? = self.state.withLockedValue { state in
                switch state {
                case .waiting(let continuation):
                    state = .finished
                    return continuation
                case .running:
                    state = .finished
                    return nil
                case .interrupted, .finished:
                    return nil
                }
            }
            continuation?.resume(returning: nil)
        }
    }
}
