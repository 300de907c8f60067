internal import RPCCore
internal import Synchronization

/// How a served call ended before its handler returned.
enum CallInterruption: Sendable {
    case deadlineExceeded
    case cancelledByClient
    case connectionClosed

    var error: RPCError {
        switch self {
        case .deadlineExceeded: RPCError(.deadlineExceeded, "deadline exceeded")
        case .cancelledByClient: RPCError(.cancelled, "call cancelled by the client")
        case .connectionClosed: RPCError(.unavailable, "connection closed")
        }
    }
}

/// Lets the connection (on its event loop) stop the task that runs a call's handler.
///
/// The serving task attaches itself before the handler runs and detaches after it returns, both
/// under the lock; `interrupt` cancels the task only while it is attached. So the task reference is
/// never used after the task has moved on, which is the rule `UnsafeCurrentTask` asks callers to
/// keep. Thread-safe.
final class CallControl: Sendable {
    private struct TaskReference: @unchecked Sendable {
        // Used only under `state`'s lock while attached; see the type's comment.
        let task: UnsafeCurrentTask
    }

    private enum State: Sendable {
        case pending
        case running(TaskReference)
        case interrupted(CallInterruption)
        case done
    }

    private let state = Mutex(State.pending)

    /// Called by the serving task before the handler. Returns the interruption if the call was
    /// already interrupted (then the handler should not run).
    func attach(_ task: UnsafeCurrentTask) -> CallInterruption? {
        self.state.withLock { state in
            switch state {
            case .pending:
                state = .running(TaskReference(task: task))
                return nil
            case .interrupted(let reason):
                return reason
            case .running, .done:
                return nil
            }
        }
    }

    /// Called by the serving task once the handler returned.
    func detach() {
        self.state.withLock { state in
            if case .running = state { state = .done }
        }
    }

    /// Stops the handler (its task is cancelled). Only the first interruption counts.
    func interrupt(_ reason: CallInterruption) {
        self.state.withLock { state in
            switch state {
            case .pending:
                state = .interrupted(reason)
            case .running(let reference):
                reference.task.cancel()
                state = .interrupted(reason)
            case .interrupted, .done:
                break
            }
        }
    }

    var interruption: CallInterruption? {
        self.state.withLock { state in
            if case .interrupted(let reason) = state { return reason }
            return nil
        }
    }
}
