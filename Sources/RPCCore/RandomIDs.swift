internal import Synchronization

/// Random identifiers for requests and traces, drawn without a system call: SplitMix64 over one
/// atomic counter, seeded once from the system generator. Unique and unpredictable enough for
/// ids that correlate logs and spans; never for secrets (use `SystemRandomNumberGenerator`).
/// Thread-safe and lock-free.
public enum RandomIDs {
    private static let counter: Atomic<UInt64> = {
        var system = SystemRandomNumberGenerator()
        return Atomic(system.next())
    }()

    /// The next 64 random bits.
    public static func next() -> UInt64 {
        Self.mix(Self.counter.wrappingAdd(Self.increment, ordering: .relaxed).newValue)
    }

    /// SplitMix64: the counter's step, and the output function applied to each counter value.
    package static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `bytes` random bytes as lowercase hex (2 * `bytes` characters), never all zeros.
    public static func hex(bytes: Int) -> String {
        String(unsafeUninitializedCapacity: bytes * 2) { buffer in
            Self.writeHex(into: buffer)
            return bytes * 2
        }
    }

    /// Fills `buffer` with random lowercase hex digits, never all "0".
    package static func writeHex(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var written = 0
        var allZero = true
        while written < buffer.count {
            var word = Self.next()
            for _ in 0..<16 where written < buffer.count {
                let nibble = UInt8(word >> 60)
                allZero = allZero && nibble == 0
                buffer[written] = Self.digits[Int(nibble)]
                word <<= 4
                written += 1
            }
        }
        if allZero, written > 0 { buffer[written - 1] = Self.digits[1] }
    }

    /// A random (version 4 layout) UUID in lowercase text, e.g. `3f2c...-...`.
    public static func uuid() -> String {
        let high = (Self.next() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let low = (Self.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            func put(_ word: UInt64, nibbles: Int, shift: Int) {
                for position in 0..<nibbles {
                    buffer[index] = Self.digits[Int((word >> UInt64(shift - 4 * position)) & 0xF)]
                    index += 1
                }
            }
            func dash() {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            put(high, nibbles: 8, shift: 60)
            dash()
            put(high, nibbles: 4, shift: 28)
            dash()
            put(high, nibbles: 4, shift: 12)
            dash()
            put(low, nibbles: 4, shift: 60)
            dash()
            put(low, nibbles: 12, shift: 44)
            return index
        }
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)
}
