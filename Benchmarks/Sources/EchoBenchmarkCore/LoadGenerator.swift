import Foundation
import Histogram
import Synchronization

/// Keeps exactly `inFlight` Echo calls in flight over one caller: one task per call slot, each
/// calling again as soon as its previous call returned (a closed loop, no pacing).
///
/// The coordinator moves the run through `LoadPhase`s with `enter(_:)`; the workers read the
/// phase after each call, record its latency while timing and count it in its phase.
public final class LoadGenerator: Sendable {
    private let caller: any EchoCaller
    private let inFlight: Int
    private let phase = Atomic<Int>(LoadPhase.warmup.rawValue)
    private let completed = PhaseCounter()
    private let failed = PhaseCounter()
    private let latencies = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three))
    private let firstError = Mutex<String?>(nil)

    public init(caller: any EchoCaller, inFlight: Int) {
        precondition(inFlight > 0, "at least one call must be in flight")
        self.caller = caller
        self.inFlight = inFlight
    }

    /// Starts the workers in the warm-up phase. The task ends once `enter(.stopped)` was called
    /// and every worker finished its last call.
    public func start() -> Task<Void, Never> {
        Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<self.inFlight {
                    group.addTask { await self.work() }
                }
            }
        }
    }

    /// Moves every worker to `phase` (taking effect at each worker's next completed call).
    public func enter(_ phase: LoadPhase) {
        self.phase.store(phase.rawValue, ordering: .releasing)
    }

    /// Calls completed successfully in `phase` so far.
    public func completedCalls(in phase: LoadPhase) -> Int {
        self.completed.count(in: phase)
    }

    /// Calls that failed in `phase` so far.
    public func failedCalls(in phase: LoadPhase) -> Int {
        self.failed.count(in: phase)
    }

    /// Latencies of the calls completed while timing, in nanoseconds.
    public var timingLatencies: Histogram<UInt64> {
        self.latencies.withLock { $0 }
    }

    /// The description of the first failed call, if any failed.
    public var firstErrorDescription: String? {
        self.firstError.withLock { $0 }
    }

    private func work() async {
        let clock = ContinuousClock()
        while true {
            let started = clock.now
            var succeeded = true
            do {
                try await self.caller.echo()
            } catch {
                succeeded = false
                self.firstError.withLock { first in
                    if first == nil { first = String(describing: error) }
                }
            }
            let elapsed = clock.now - started
            let phase = LoadPhase(rawValue: self.phase.load(ordering: .acquiring)) ?? .stopped
            if phase == .stopped { return }
            if succeeded {
                self.completed.increment(in: phase)
                if phase == .timing {
                    let nanoseconds =
                        UInt64(elapsed.components.seconds) * 1_000_000_000
                        + UInt64(elapsed.components.attoseconds / 1_000_000_000)
                    self.latencies.withLock { _ = $0.record(nanoseconds) }
                }
            } else {
                self.failed.increment(in: phase)
                // A failing server must not turn the workers into a busy loop.
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }
}
