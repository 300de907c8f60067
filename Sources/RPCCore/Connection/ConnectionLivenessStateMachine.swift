/// Keepalive and idle logic of one connection, either side, without I/O or clocks of its own:
/// the handler calls `tick` from a repeating timer and reports what it reads.
///
/// - A connection that has read nothing for `keepaliveInterval` sends a Ping; if nothing at all
///   arrives within `keepaliveTimeout` after that, the peer is dead and the connection closes
///   (its calls fail with UNAVAILABLE and may be retried elsewhere).
/// - A connection with no open call for `idleTimeout` is closed gracefully (GOAWAY first).
package struct ConnectionLivenessStateMachine {
    package struct Configuration: Sendable, Equatable {
        package var keepaliveInterval: Duration
        package var keepaliveTimeout: Duration
        /// nil: never close for idleness.
        package var idleTimeout: Duration?

        package init(keepaliveInterval: Duration, keepaliveTimeout: Duration, idleTimeout: Duration?) {
            self.keepaliveInterval = keepaliveInterval
            self.keepaliveTimeout = keepaliveTimeout
            self.idleTimeout = idleTimeout
        }
    }

    package enum Action: Equatable {
        case none
        case sendPing(opaque: UInt64)
        /// No sign of life from the peer after a ping: close at once.
        case closeDeadPeer
        /// No calls for the idle timeout: drain and close.
        case closeIdle
    }

    package let configuration: Configuration
    private var lastRead: ContinuousClock.Instant
    private var pingSentAt: ContinuousClock.Instant?
    private var idleSince: ContinuousClock.Instant?
    private var nextOpaque: UInt64 = 1
    private var idleReported = false

    package init(configuration: Configuration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        self.lastRead = now
        self.idleSince = now
    }

    /// Anything arrived from the peer: it is alive.
    package mutating func receivedData(now: ContinuousClock.Instant) {
        self.lastRead = now
        self.pingSentAt = nil
    }

    /// The number of open calls changed.
    /// `now` is read only when the connection becomes idle.
    package mutating func openCallsChanged(to count: Int, now: @autoclosure () -> ContinuousClock.Instant) {
        if count == 0 {
            if self.idleSince == nil { self.idleSince = now() }
        } else {
            self.idleSince = nil
            self.idleReported = false
        }
    }

    package mutating func tick(now: ContinuousClock.Instant) -> Action {
        if let sent = self.pingSentAt {
            if now - sent >= self.configuration.keepaliveTimeout { return .closeDeadPeer }
        } else if now - self.lastRead >= self.configuration.keepaliveInterval {
            self.pingSentAt = now
            defer { self.nextOpaque &+= 1 }
            return .sendPing(opaque: self.nextOpaque)
        }
        if let idleTimeout = self.configuration.idleTimeout, let since = self.idleSince, !self.idleReported,
            now - since >= idleTimeout
        {
            self.idleReported = true
            return .closeIdle
        }
        return .none
    }

    /// How often `tick` should run to honour the configuration.
    package var tickInterval: Duration {
        var shortest = min(self.configuration.keepaliveInterval, self.configuration.keepaliveTimeout)
        if let idle = self.configuration.idleTimeout { shortest = min(shortest, idle) }
        return max(.milliseconds(10), shortest / 4)
    }
}
