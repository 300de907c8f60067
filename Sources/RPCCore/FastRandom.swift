/// A small, fast pseudo-random generator (SplitMix64) for load balancing and jitter, where
/// `SystemRandomNumberGenerator` would cost a `getrandom` system call per draw. Seeded once from
/// the system generator; not for anything secret.
package struct FastRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    package mutating func next() -> UInt64 {
        self.state &+= RandomIDs.increment
        return RandomIDs.mix(self.state)
    }
}
