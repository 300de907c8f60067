#if canImport(Glibc)
    internal import Glibc
#else
    internal import Darwin
#endif

/// The method names a server serves, found from a request's bytes without building a `String`
/// for each call: a decoded request then carries the router's own instance of its name.
public struct MethodNames: Sendable {
    private var byHash: [UInt64: [(bytes: [UInt8], name: String)]] = [:]

    public init(_ names: some Sequence<String>) {
        for name in names {
            let bytes = Array(name.utf8)
            let hash = bytes.withUnsafeBytes { Self.hash($0) }
            self.byHash[hash, default: []].append((bytes, name))
        }
    }

    /// The registered name spelled by `bytes`, if there is one.
    public func name(of view: UnsafeRawBufferPointer) -> String? {
        guard let candidates = self.byHash[Self.hash(view)] else { return nil }
        for candidate in candidates where candidate.bytes.count == view.count {
            let equal = candidate.bytes.withUnsafeBytes { stored in
                view.isEmpty || memcmp(stored.baseAddress!, view.baseAddress!, view.count) == 0
            }
            if equal { return candidate.name }
        }
        return nil
    }

    /// FNV-1a, 64 bits: cheap for short names, good enough to tell a handful of methods apart.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
