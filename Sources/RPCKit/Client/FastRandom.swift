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
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
