import NIOConcurrencyHelpers

/// Whether a client connection still takes new calls. Read from any thread.
final class ClientConnectionState: Sendable {
    private struct Flags {
        var draining = false
        var closed = false
        var nextCallID: UInt64 = 1
    }

    private let flags = NIOLockedValueBox(Flags())

    /// True once the server sent GOAWAY or the connection ended: new calls go elsewhere.
    var isDraining: Bool { self.flags.withLockedValue { $0.draining || $0.closed } }
    var isClosed: Bool { self.flags.withLockedValue { $0.closed } }

    /// Allocates the next call id: odd, increasing, never reused on this connection.
    func nextCallID() -> UInt64 {
        self.flags.withLockedValue { flags in
            defer { flags.nextCallID += 2 }
            return flags.nextCallID
        }
    }

    func markDraining() { self.flags.withLockedValue { $0.draining = true } }
    func markClosed() { self.flags.withLockedValue { $0.closed = true } }
}
