/// The phases a load run goes through. Workers keep calling through all of them until `stopped`;
/// a call is attributed to the phase current when it completes.
public enum LoadPhase: Int, Sendable, CaseIterable {
    /// Connection set-up, TLS handshake, caches and allocator warm; nothing is recorded.
    case warmup = 0
    /// Latencies go into the histogram; completed calls give QPS and the syscall ratio.
    case timing = 1
    /// Allocation counting is on in both processes; completed calls give allocations per call.
    case allocationCounting = 2
    /// Workers finish their current call and end.
    case stopped = 3
}
