/// A circuit breaker for one endpoint, after resilience4j: it counts the outcomes of the last
/// `windowSize` calls; when at least `minimumCalls` were counted and the failure rate reaches
/// `failureRateThreshold`, it opens and refuses calls for `openDuration`; then it lets
/// `halfOpenTrialCalls` through, closing again if they all succeed and reopening on the first
/// failure. Pure: the caller passes the time.
public struct CircuitBreaker: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var windowSize: Int = 20
        public var minimumCalls: Int = 10
        public var failureRateThreshold: Double = 0.5
        public var openDuration: Duration = .seconds(5)
        public var halfOpenTrialCalls: Int = 3

        public init() {}
    }

    public enum State: Sendable, Equatable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(started: Int, succeeded: Int)
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed
    private var outcomes: [Bool] = []  // ring buffer of the last calls: true = failure
    private var next = 0
    private var failures = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether a call may go to this endpoint now; counts a half-open trial when it may.
    public mutating func allowsCall(now: ContinuousClock.Instant) -> Bool {
        switch self.state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            self.state = .halfOpen(started: 1, succeeded: 0)
            return true
        case .halfOpen(let started, let succeeded):
            guard started < self.configuration.halfOpenTrialCalls else { return false }
            self.state = .halfOpen(started: started + 1, succeeded: succeeded)
            return true
        }
    }

    /// Whether a call would be allowed, without counting it.
    public func wouldAllowCall(now: ContinuousClock.Instant) -> Bool {
        switch self.state {
        case .closed: true
        case .open(let until): now >= until
        case .halfOpen(let started, _): started < self.configuration.halfOpenTrialCalls
        }
    }

    public mutating func record(failure: Bool, now: ContinuousClock.Instant) {
        switch self.state {
        case .open:
            return
        case .halfOpen(let started, let succeeded):
            if failure {
                self.trip(now: now)
            } else if succeeded + 1 >= self.configuration.halfOpenTrialCalls {
                self.reset()
            } else {
                self.state = .halfOpen(started: started, succeeded: succeeded + 1)
            }
        case .closed:
            if self.outcomes.count < self.configuration.windowSize {
                self.outcomes.append(failure)
            } else {
                if self.outcomes[self.next] { self.failures -= 1 }
                self.outcomes[self.next] = failure
                self.next = (self.next + 1) % self.configuration.windowSize
            }
            if failure { self.failures += 1 }
            if self.outcomes.count >= self.configuration.minimumCalls,
                Double(self.failures) / Double(self.outcomes.count) >= self.configuration.failureRateThreshold
            {
                self.trip(now: now)
            }
        }
    }

    private mutating func trip(now: ContinuousClock.Instant) {
        self.state = .open(until: now + self.configuration.openDuration)
        self.outcomes.removeAll(keepingCapacity: true)
        self.next = 0
        self.failures = 0
    }

    private mutating func reset() {
        self.state = .closed
        self.outcomes.removeAll(keepingCapacity: true)
        self.next = 0
        self.failures = 0
    }
}
