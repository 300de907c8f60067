internal import Synchronization

/// Request ids made by this process when a caller sends none: a random per-process prefix and a
/// counter, e.g. `3f9a0c1e-2b`. Short enough to be stored inline in a Swift string (no
/// allocation, no system call per call) and unique across processes in practice.
package enum RequestID {
    private static let prefix: String = {
        var generator = SystemRandomNumberGenerator()
        let value = UInt32.random(in: .min ... .max, using: &generator)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }()

    private static let counter = Atomic<UInt64>(0)

    package static func next() -> String {
        self.format(self.nextNumber())
    }

    /// A fresh id's number; `format` spells it. Calls keep the number and spell it only when
    /// something reads the id (most calls never log).
    package static func nextNumber() -> UInt64 {
        Self.counter.add(1, ordering: .relaxed).oldValue
    }

    package static func format(_ number: UInt64) -> String {
        Self.prefix + "-" + String(number, radix: 16)
    }
}
