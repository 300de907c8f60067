/// Which replica a call goes to, and what each replica's record says about it. Pure: the client
/// channel holds it under a lock and passes in the time and the randomness.
///
/// Per endpoint it tracks calls in flight, a `CircuitBreaker`, consecutive failures for outlier
/// ejection, the last health-check answer and connection backoff. A call goes to the better of
/// two randomly drawn eligible endpoints (power of two choices on calls in flight), which spreads
/// load like least-loaded without a global scan and keeps away from a slow replica.
///
/// Eligible: not ejected, breaker not open, health not NOT_SERVING, not waiting out a connection
/// backoff. When health alone rules out every endpoint, it is ignored (panic mode). Ejection follows Envoy's outlier detection: `consecutiveFailures` in a row eject an
/// endpoint for `baseEjectionTime` times its number of ejections, with at most
/// `maxEjectedPercent` of the endpoints (but at least one of two or more) out at once.
public struct LoadBalancer: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var consecutiveFailures: Int = 5
        public var baseEjectionTime: Duration = .seconds(30)
        public var maxEjectionTime: Duration = .seconds(300)
        public var maxEjectedPercent: Int = 10
        public var breaker = CircuitBreaker.Configuration()
        /// Connection attempts back off from `reconnectInitial`, times `reconnectMultiplier` per
        /// failure, up to `reconnectMax`, with ±20 % jitter.
        public var reconnectInitial: Duration = .milliseconds(100)
        public var reconnectMax: Duration = .seconds(5)
        public var reconnectMultiplier: Double = 1.6

        public init() {}
    }

    public enum Health: Sendable, Equatable {
        case unknown
        case serving
        case notServing
    }

    /// How a call ended, as far as the endpoint's record is concerned.
    public enum Outcome: Sendable, Equatable {
        case success
        /// The endpoint or the network failed (unavailable, internal, unknown, data loss,
        /// deadline, a lost connection); see `init(endingWith:)`.
        case endpointFailure
        /// The caller's fault or an answer about data (rate limited, locked out, not found,
        /// invalid argument, cancelled...): says nothing about the endpoint's health, but shows
        /// it answers.
        case neutral
        /// The call never reached a handler (no connection, refused while draining or over the
        /// connection's call limit): only the in-flight count changes.
        case notProcessed
    }

    struct EndpointRecord: Sendable {
        var endpoint: Endpoint
        var inFlight = 0
        var breaker: CircuitBreaker
        var consecutiveFailures = 0
        var ejectedUntil: ContinuousClock.Instant?
        var ejections = 0
        var health = Health.unknown
        var reconnectAfter: ContinuousClock.Instant?
        var connectFailures = 0
    }

    public let configuration: Configuration
    private(set) var records: [EndpointRecord]

    public init(endpoints: [Endpoint], configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.records = endpoints.map { EndpointRecord(endpoint: $0, breaker: CircuitBreaker(configuration: configuration.breaker)) }
    }

    public var endpoints: [Endpoint] { self.records.map(\.endpoint) }

    /// Replaces the endpoint list (a DNS re-resolution); endpoints that stay keep their record.
    public mutating func update(endpoints: [Endpoint]) {
        var kept: [Endpoint: EndpointRecord] = [:]
        for record in self.records { kept[record.endpoint] = record }
        self.records = endpoints.map {
            kept[$0] ?? EndpointRecord(endpoint: $0, breaker: CircuitBreaker(configuration: self.configuration.breaker))
        }
    }

    // MARK: - Picking

    /// Chooses an endpoint for a call and counts the call in flight there. `avoiding` lists
    /// endpoints a retry should not return to while there is another choice. nil: no endpoint is
    /// eligible now.
    public mutating func pick(now: ContinuousClock.Instant, avoiding: Set<Endpoint> = [], random: inout some RandomNumberGenerator)
        -> Endpoint?
    {
        // Two passes without allocating: count the candidates, then find the drawn ones.
        // Panic mode (as in Envoy): when health checks rule out every endpoint, they are ignored,
        // since a failing health service is then likelier than a service that is down everywhere.
        var ignoringHealth = false
        var preferred = 0
        var avoided = 0
        for pass in 0..<2 where preferred + avoided == 0 {
            ignoringHealth = pass == 1
            for index in self.records.indices where self.isEligible(index, now: now, ignoringHealth: ignoringHealth) {
                if self.isAvoided(index, avoiding) { avoided += 1 } else { preferred += 1 }
            }
        }
        let fromAvoided = preferred == 0
        let count = fromAvoided ? avoided : preferred
        guard count > 0 else { return nil }
        func candidate(_ n: Int) -> Int {
            self.candidate(n, fromAvoided: fromAvoided, avoiding: avoiding, ignoringHealth: ignoringHealth, now: now)
        }
        var chosen = candidate(0)
        if count > 1 {
            let first = Int.random(in: 0..<count, using: &random)
            var second = Int.random(in: 0..<(count - 1), using: &random)
            if second >= first { second += 1 }
            chosen = candidate(first)
            let other = candidate(second)
            if self.records[other].inFlight < self.records[chosen].inFlight { chosen = other }
        }
        guard self.records[chosen].breaker.allowsCall(now: now) else { return nil }
        self.records[chosen].inFlight += 1
        return self.records[chosen].endpoint
    }

    private func isAvoided(_ index: Int, _ avoiding: Set<Endpoint>) -> Bool {
        !avoiding.isEmpty && avoiding.contains(self.records[index].endpoint)
    }

    /// The index of the `n`-th eligible endpoint (counting avoided or not-avoided ones only).
    private func candidate(
        _ n: Int,
        fromAvoided: Bool,
        avoiding: Set<Endpoint>,
        ignoringHealth: Bool,
        now: ContinuousClock.Instant
    ) -> Int {
        var seen = 0
        for index in self.records.indices
        where self.isEligible(index, now: now, ignoringHealth: ignoringHealth) && self.isAvoided(index, avoiding) == fromAvoided {
            if seen == n { return index }
            seen += 1
        }
        preconditionFailure("candidate \(n) of fewer")
    }

    /// Whether the endpoint at `index` may take a call now. An ejection whose time has passed
    /// no longer counts (`isEjected` and `eject` read it the same way).
    private func isEligible(_ index: Int, now: ContinuousClock.Instant, ignoringHealth: Bool = false) -> Bool {
        self.records.withUnsafeBufferPointer { records in
            let record = records.baseAddress! + index
            if let until = record.pointee.ejectedUntil, now < until { return false }
            if let after = record.pointee.reconnectAfter, now < after { return false }
            if record.pointee.health == .notServing && !ignoringHealth { return false }
            return record.pointee.breaker.wouldAllowCall(now: now)
        }
    }

    // MARK: - Recording

    /// A call picked with `pick` ended.
    public mutating func callEnded(at endpoint: Endpoint, outcome: Outcome, now: ContinuousClock.Instant) {
        guard let index = self.index(of: endpoint) else { return }
        self.records[index].inFlight = max(0, self.records[index].inFlight - 1)
        switch outcome {
        case .notProcessed:
            break
        case .neutral:
            self.records[index].breaker.record(failure: false, now: now)
            self.records[index].consecutiveFailures = 0
        case .success:
            self.records[index].breaker.record(failure: false, now: now)
            self.records[index].consecutiveFailures = 0
            self.records[index].connectFailures = 0
        case .endpointFailure:
            self.records[index].breaker.record(failure: true, now: now)
            self.records[index].consecutiveFailures += 1
            if self.records[index].consecutiveFailures >= self.configuration.consecutiveFailures {
                self.eject(index, now: now)
            }
        }
    }

    /// A connection attempt failed: back off before the next one (capped, jittered).
    public mutating func connectFailed(to endpoint: Endpoint, now: ContinuousClock.Instant, jitter: Double) {
        guard let index = self.index(of: endpoint) else { return }
        self.records[index].connectFailures += 1
        let failures = self.records[index].connectFailures
        var delay = Double(self.configuration.reconnectInitial.nanoseconds)
        for _ in 1..<failures { delay *= self.configuration.reconnectMultiplier }
        delay = min(delay, Double(self.configuration.reconnectMax.nanoseconds)) * (0.8 + 0.4 * min(1, max(0, jitter)))
        self.records[index].reconnectAfter = now + .nanoseconds(Int64(delay))
    }

    public mutating func connected(to endpoint: Endpoint) {
        guard let index = self.index(of: endpoint) else { return }
        self.records[index].connectFailures = 0
        self.records[index].reconnectAfter = nil
    }

    public mutating func healthChanged(of endpoint: Endpoint, to health: Health) {
        guard let index = self.index(of: endpoint) else { return }
        self.records[index].health = health
    }

    public func health(of endpoint: Endpoint) -> Health? {
        self.index(of: endpoint).map { self.records[$0].health }
    }

    public func isEjected(_ endpoint: Endpoint, now: ContinuousClock.Instant) -> Bool {
        guard let index = self.index(of: endpoint), let until = self.records[index].ejectedUntil else { return false }
        return now < until
    }

    public func breakerState(of endpoint: Endpoint) -> CircuitBreaker.State? {
        self.index(of: endpoint).map { self.records[$0].breaker.state }
    }

    public func inFlight(at endpoint: Endpoint) -> Int {
        self.index(of: endpoint).map { self.records[$0].inFlight } ?? 0
    }

    private mutating func eject(_ index: Int, now: ContinuousClock.Instant) {
        guard self.records.count > 1, !self.isEjected(self.records[index].endpoint, now: now) else { return }
        let ejected = self.records.filter { ($0.ejectedUntil ?? now) > now }.count
        let allowed = max(1, self.records.count * self.configuration.maxEjectedPercent / 100)
        guard ejected < allowed else { return }
        self.records[index].ejections += 1
        let time = min(
            self.configuration.maxEjectionTime,
            self.configuration.baseEjectionTime * self.records[index].ejections
        )
        self.records[index].ejectedUntil = now + time
        self.records[index].consecutiveFailures = 0
    }

    private func index(of endpoint: Endpoint) -> Int? {
        for index in self.records.indices where self.records[index].endpoint == endpoint {
            return index
        }
        return nil
    }
}

extension LoadBalancer.Outcome {
    /// How a call that ended with `code` counts for the endpoint that answered: the one place
    /// where RPCKit tells the server's or the network's failures from the caller's refusals
    /// (docs/PROTOCOL.md §8.4).
    ///
    /// Only `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `INTERNAL`, `UNKNOWN` and `DATA_LOSS` (and a lost
    /// connection, which the client reports as `UNAVAILABLE`) say that the endpoint or the path to
    /// it failed. Every other code is an answer about the call: a login lockout or rate limit
    /// (`RESOURCE_EXHAUSTED`), bad input, a missing object, a refused permission, a conflict, a
    /// cancellation. Counting those against the endpoint would let one client's refusals (a dozen
    /// wrong passwords) eject a healthy replica or open its breaker for every other caller. An
    /// overloaded server refuses calls with `not_processed` set, which moves them elsewhere
    /// without counting them here (`notProcessed`).
    public init(endingWith code: RPCError.Code) {
        switch code {
        case .ok: self = .success
        case .unavailable, .deadlineExceeded, .internal, .unknown, .dataLoss: self = .endpointFailure
        default: self = .neutral
        }
    }
}

extension RPCError.Code {
    /// Whether a call attempt ending with this code takes a token from the `RetryThrottle`: the
    /// endpoint failures, and `RESOURCE_EXHAUSTED`, which is retried (when the server gives a
    /// delay) and so must be throttled too, though it says nothing against the endpoint.
    package var chargesRetryThrottle: Bool {
        LoadBalancer.Outcome(endingWith: self) == .endpointFailure || self == .resourceExhausted
    }
}
