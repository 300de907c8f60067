/// A small, fast pseudo-random generator (SplitMix64) for load balancing and jitter, where
/// `SystemRandomNumberGenerator` would cost a `getrandom` system call per draw. Seeded once from
/// the system generator; not for anything secret.
struct FastRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    mutating func next() -> UInt64 {
        self.state &+= RandomIDs.increment
        return RandomIDs.mix(self.state)
    }
}
