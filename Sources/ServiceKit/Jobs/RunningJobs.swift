import NIOConcurrencyHelpers

/// Why the runner stopped a run before its handler returned.
enum JobStop: Sendable, Equatable {
    /// The kind's timeout passed: the attempt fails and is retried.
    case timeout
    /// The heartbeat found the lease gone (the job was rescued from this runner): nothing more is
    /// written for this run.
    case leaseLost
    /// The runner is stopping and the drain time is over: the job is put back, its attempt not
    /// counted.
    case shutdown
}

/// The runs a runner holds, from claim until their outcome is written: the heartbeat renews their
/// leases, the fetch loops count those still executing against each queue's concurrency, and a
/// run can be stopped by id.
///
/// Each run has a generation, given at `start`: the same job may be claimed again (a retry, a
/// snooze) as soon as its outcome is written, before the earlier run's bookkeeping has finished,
/// and that late bookkeeping must not touch the new run (a test once hung when it removed the
/// new run's entry, so that the new run's timeout could no longer stop it).
final class RunningJobs: Sendable {
    private struct Run {
        var generation: UInt64
        var queue: String
        var executing = true
        var stop: JobStop?
        var cancel: (@Sendable () -> Void)?
    }

    private struct State {
        var runs: [Int64: Run] = [:]
        var executing: [String: Int] = [:]
        var nextGeneration: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Counts a claimed run as executing in `queue`; returns its generation.
    func start(_ id: Int64, queue: String) -> UInt64 {
        self.state.withLockedValue { state in
            state.nextGeneration += 1
            if let earlier = state.runs[id], earlier.executing {
                state.executing[earlier.queue, default: 1] -= 1
            }
            state.runs[id] = Run(generation: state.nextGeneration, queue: queue)
            state.executing[queue, default: 0] += 1
            return state.nextGeneration
        }
    }

    /// Sets how to stop the run; stops it at once when a stop came first.
    func setCancel(_ id: Int64, generation: UInt64, _ cancel: @escaping @Sendable () -> Void) {
        let stopNow = self.state.withLockedValue { state -> Bool in
            guard state.runs[id]?.generation == generation else { return false }
            state.runs[id]?.cancel = cancel
            return state.runs[id]?.stop != nil
        }
        if stopNow { cancel() }
    }

    /// Stops a run that is still executing (of `generation`, when given), saying why; the first
    /// reason given is kept.
    func stop(_ id: Int64, generation: UInt64? = nil, _ reason: JobStop) {
        let cancel = self.state.withLockedValue { state -> (@Sendable () -> Void)? in
            guard var run = state.runs[id], run.executing, run.stop == nil else { return nil }
            if let generation, run.generation != generation { return nil }
            run.stop = reason
            state.runs[id] = run
            return run.cancel
        }
        cancel?()
    }

    /// Stops every run of `queue` that is still executing.
    func stopAll(queue: String, _ reason: JobStop) {
        let ids = self.state.withLockedValue { state in
            state.runs.filter { $0.value.queue == queue && $0.value.executing }.map(\.key)
        }
        for id in ids { self.stop(id, reason) }
    }

    /// The handler has returned: the run no longer counts against its queue's concurrency.
    /// Returns why it was stopped, if it was.
    func finishExecuting(_ id: Int64, generation: UInt64) -> JobStop? {
        self.state.withLockedValue { state in
            guard var run = state.runs[id], run.generation == generation, run.executing else { return nil }
            run.executing = false
            run.cancel = nil
            state.runs[id] = run
            state.executing[run.queue, default: 1] -= 1
            return run.stop
        }
    }

    /// The run's outcome is written (or given up): forget it, unless a newer run of the job has
    /// begun since.
    func remove(_ id: Int64, generation: UInt64) {
        self.state.withLockedValue { state in
            guard let run = state.runs[id], run.generation == generation else { return }
            state.runs[id] = nil
            if run.executing { state.executing[run.queue, default: 1] -= 1 }
        }
    }

    /// Completed runs whose completion is written: forget them. (A completed job is never claimed
    /// again, so no newer run can have begun.)
    func removeCompleted(_ ids: some Sequence<Int64>) {
        self.state.withLockedValue { state in
            for id in ids {
                if let run = state.runs.removeValue(forKey: id), run.executing {
                    state.executing[run.queue, default: 1] -= 1
                }
            }
        }
    }

    func executing(in queue: String) -> Int {
        self.state.withLockedValue { $0.executing[queue] ?? 0 }
    }

    var isEmpty: Bool { self.state.withLockedValue { $0.runs.isEmpty } }

    /// Every run held, executing or waiting for its outcome to be written.
    var held: [Int64] { self.state.withLockedValue { Array($0.runs.keys) } }

    func isHeld(_ id: Int64) -> Bool { self.state.withLockedValue { $0.runs[id] != nil } }
}
