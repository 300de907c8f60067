import Synchronization

/// A thread-safe count of events per `LoadPhase`.
final class PhaseCounter: Sendable {
    private let warmup = Atomic(0)
    private let timing = Atomic(0)
    private let allocationCounting = Atomic(0)
    private let stopped = Atomic(0)

    func increment(in phase: LoadPhase) {
        switch phase {
        case .warmup: self.warmup.add(1, ordering: .relaxed)
        case .timing: self.timing.add(1, ordering: .relaxed)
        case .allocationCounting: self.allocationCounting.add(1, ordering: .relaxed)
        case .stopped: self.stopped.add(1, ordering: .relaxed)
        }
    }

    func count(in phase: LoadPhase) -> Int {
        switch phase {
        case .warmup: self.warmup.load(ordering: .relaxed)
        case .timing: self.timing.load(ordering: .relaxed)
        case .allocationCounting: self.allocationCounting.load(ordering: .relaxed)
        case .stopped: self.stopped.load(ordering: .relaxed)
        }
    }
}
