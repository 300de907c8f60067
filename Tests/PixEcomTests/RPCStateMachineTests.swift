import Foundation
import NIOCore
import PixEcomProtos
import SwiftProtobuf
import Testing

@testable import RPCCore
@testable import RPCKit

/// The connection and call logic of RPCKit as pure state machines: no sockets, no clocks.
@Suite struct ServerConnectionStateMachineTests {
    private func machine(maxCalls: Int = 3) -> ServerConnectionStateMachine {
        ServerConnectionStateMachine(configuration: .init(maxConcurrentCalls: maxCalls))
    }

    @Test func acceptsOddNewIDsInAnyOrderAndTreatsBadOrReusedOnesAsProtocolViolations() {
        var machine = self.machine()
        #expect(machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) == .accept)
        // Ids come from an atomic counter on the client: a lower one may arrive later.
        #expect(machine.receivedRequest(callID: 3, isStream: false, initialWindow: 0) == .accept)
        #expect(machine.lastAcceptedCallID == 5)
        // Answering a reused id would end the call that holds it: the connection is closed instead.
        #expect(machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) == .protocolViolation("call id 5 is already in use"))
        for bad: UInt64 in [0, 2, 4] {
            guard case .protocolViolation = machine.receivedRequest(callID: bad, isStream: false, initialWindow: 0) else {
                Issue.record("id \(bad) was accepted")
                continue
            }
        }
        #expect(machine.openCalls == 2)
        #expect(machine.problem(withNewCallID: 7) == nil)
        #expect(machine.problem(withNewCallID: 3) != nil)
    }

    @Test func theConcurrentCallLimitAnswersResourceExhaustedWithARetryDelay() {
        var machine = self.machine(maxCalls: 2)
        #expect(machine.receivedRequest(callID: 1, isStream: false, initialWindow: 0) == .accept)
        #expect(machine.receivedRequest(callID: 3, isStream: false, initialWindow: 0) == .accept)
        guard case .refuse(let error) = machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) else {
            Issue.record("the limit was not enforced")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("limit 2"))
        #expect(error.retryDelayMillis != nil)
        #expect(machine.finish(callID: 1) == .send)
        #expect(machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) == .accept)
    }

    @Test func everyCallEndsExactlyOnce() {
        var machine = self.machine()
        _ = machine.receivedRequest(callID: 1, isStream: false, initialWindow: 0)
        _ = machine.receivedRequest(callID: 3, isStream: false, initialWindow: 0)
        #expect(machine.finish(callID: 1) == .send)
        #expect(machine.finish(callID: 1) == .drop)
        #expect(machine.cancel(callID: 1) == .none)
        #expect(machine.cancel(callID: 3) == .interrupt)
        #expect(machine.finish(callID: 3) == .drop)
        #expect(machine.openCalls == 0)
    }

    @Test func streamCreditLimitsMessagesUntilTheClientGrantsMore() {
        var machine = self.machine()
        _ = machine.receivedRequest(callID: 1, isStream: true, initialWindow: 2)
        #expect(machine.sendMessage(callID: 1) == .send)
        #expect(machine.sendMessage(callID: 1) == .send)
        #expect(machine.sendMessage(callID: 1) == .wait)
        #expect(machine.receivedWindowUpdate(callID: 1, messages: 1) == true)
        #expect(machine.sendMessage(callID: 1) == .send)
        #expect(machine.sendMessage(callID: 1) == .wait)
        // Updates for unknown calls, unary calls or of zero messages do nothing.
        #expect(machine.receivedWindowUpdate(callID: 9, messages: 5) == false)
        #expect(machine.receivedWindowUpdate(callID: 1, messages: 0) == false)
        _ = machine.receivedRequest(callID: 3, isStream: false, initialWindow: 0)
        #expect(machine.receivedWindowUpdate(callID: 3, messages: 5) == false)
        // A huge grant is capped, never overflows.
        #expect(machine.receivedWindowUpdate(callID: 1, messages: .max) == true)
        #expect(machine.receivedWindowUpdate(callID: 1, messages: .max) == true)
        #expect(machine.credit(of: 1) == machine.configuration.maxWindow)
        #expect(machine.cancel(callID: 1) == .interrupt)
        #expect(machine.sendMessage(callID: 1) == .callEnded)
    }

    @Test func aStreamWithoutAnInitialWindowGetsTheDefault() {
        var machine = self.machine()
        _ = machine.receivedRequest(callID: 1, isStream: true, initialWindow: 0)
        #expect(machine.credit(of: 1) == 16)
    }

    @Test func drainServesCallsUpToTheGoAwayAndClosesAfterTheClientAcknowledges() {
        var machine = self.machine(maxCalls: 10)
        _ = machine.receivedRequest(callID: 7, isStream: false, initialWindow: 0)
        #expect(machine.beginDrain() == .sendGoAway(lastCallID: 7, closeNow: false))
        #expect(machine.beginDrain() == .none)
        // Written by the client before it read the GOAWAY: still served.
        #expect(machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) == .accept)
        // Above the GOAWAY's last id: refused as not processed.
        guard case .refuse(let error) = machine.receivedRequest(callID: 9, isStream: false, initialWindow: 0) else {
            Issue.record("a call above the GOAWAY was accepted")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("not processed"))
        #expect(machine.finish(callID: 7) == .send)
        // The client acknowledges; one call is still open.
        #expect(machine.receivedGoAway() == false)
        #expect(machine.finish(callID: 5) == .sendAndClose)
        // After the acknowledgement nothing more is accepted.
        guard case .refuse = machine.receivedRequest(callID: 3, isStream: false, initialWindow: 0) else {
            Issue.record("a call after the client's GOAWAY was accepted")
            return
        }
    }

    @Test func anEmptyConnectionClosesWhenTheAcknowledgementArrives() {
        var machine = self.machine()
        #expect(machine.beginDrain() == .sendGoAway(lastCallID: 0, closeNow: false))
        #expect(!machine.shouldClose)
        #expect(machine.receivedGoAway() == true)
        #expect(machine.shouldClose)
    }

    @Test func aClientGoingAwayFirstClosesTheConnectionWhenItsCallsEnd() {
        var machine = self.machine()
        _ = machine.receivedRequest(callID: 1, isStream: false, initialWindow: 0)
        #expect(machine.receivedGoAway() == false)
        #expect(machine.cancel(callID: 1) == .interruptAndClose)
    }

    @Test func closingInterruptsEveryOpenCall() {
        var machine = self.machine()
        _ = machine.receivedRequest(callID: 1, isStream: false, initialWindow: 0)
        _ = machine.receivedRequest(callID: 3, isStream: true, initialWindow: 0)
        #expect(Set(machine.closed()) == [1, 3])
        #expect(machine.openCalls == 0)
        guard case .refuse(let error) = machine.receivedRequest(callID: 5, isStream: false, initialWindow: 0) else {
            Issue.record("a closed connection accepted a call")
            return
        }
        #expect(error.code == .unavailable)
    }
}

@Suite struct ClientConnectionStateMachineTests {
    @Test func unaryCallsFinishOnceAndLateFramesAreIgnored() {
        var machine = ClientConnectionStateMachine()
        #expect(machine.startCall(1, isStream: false, window: 0) == .send)
        #expect(machine.startCall(1, isStream: false, window: 0) == .refuse)
        #expect(machine.receivedResponse(callID: 1, hasStatus: true) == .finish(close: false))
        #expect(machine.receivedResponse(callID: 1, hasStatus: true) == .ignore)
        #expect(machine.startCall(3, isStream: false, window: 0) == .send)
        #expect(machine.cancel(callID: 3) == .sendCancel(close: false))
        #expect(machine.cancel(callID: 3) == .none)
        #expect(machine.receivedResponse(callID: 3, hasStatus: true) == .ignore)
    }

    @Test func aUnaryMessageWithoutStatusIsAViolation() {
        var machine = ClientConnectionStateMachine()
        _ = machine.startCall(1, isStream: false, window: 0)
        guard case .violation = machine.receivedResponse(callID: 1, hasStatus: false) else {
            Issue.record("no violation")
            return
        }
        #expect(!machine.isOpen(1))
    }

    @Test func streamCreditIsReturnedInHalfWindowBatchesAndOverrunsAreViolations() {
        var machine = ClientConnectionStateMachine()
        _ = machine.startCall(1, isStream: true, window: 4)
        for _ in 0..<4 { #expect(machine.receivedResponse(callID: 1, hasStatus: false) == .deliverMessage) }
        // The window is used up: a fifth message breaks the protocol.
        var copy = machine
        guard case .violation = copy.receivedResponse(callID: 1, hasStatus: false) else {
            Issue.record("an overrun was accepted")
            return
        }
        #expect(machine.messageConsumed(callID: 1) == nil)
        #expect(machine.messageConsumed(callID: 1) == 2)
        #expect(machine.receivedResponse(callID: 1, hasStatus: false) == .deliverMessage)
        #expect(machine.receivedResponse(callID: 1, hasStatus: false) == .deliverMessage)
        #expect(machine.receivedResponse(callID: 1, hasStatus: true) == .finish(close: false))
        #expect(machine.messageConsumed(callID: 1) == nil)
    }

    @Test func goAwayFailsOnlyCallsAboveTheLastIDAsUnprocessedAndRefusesNewOnes() {
        var machine = ClientConnectionStateMachine()
        for id: UInt64 in [1, 3, 5, 7] { _ = machine.startCall(id, isStream: false, window: 0) }
        let (unprocessed, closeNow) = machine.receivedGoAway(lastCallID: 3)
        #expect(unprocessed == [5, 7])
        #expect(!closeNow)
        #expect(!machine.acceptsCalls)
        #expect(machine.startCall(9, isStream: false, window: 0) == .refuse)
        #expect(machine.receivedResponse(callID: 1, hasStatus: true) == .finish(close: false))
        #expect(machine.receivedResponse(callID: 3, hasStatus: true) == .finish(close: true))
    }

    @Test func closingFailsEveryOpenCall() {
        var machine = ClientConnectionStateMachine()
        _ = machine.startCall(1, isStream: false, window: 0)
        _ = machine.startCall(3, isStream: true, window: 8)
        #expect(machine.closed() == [1, 3])
        #expect(machine.startCall(5, isStream: false, window: 0) == .refuse)
    }

    @Test func aDrainingClientClosesWithItsLastCall() {
        var machine = ClientConnectionStateMachine()
        _ = machine.startCall(1, isStream: false, window: 0)
        #expect(machine.beginDrain() == false)
        #expect(machine.cancel(callID: 1) == .sendCancel(close: true))
    }
}

@Suite struct ConnectionLivenessTests {
    let start = ContinuousClock.now

    private func machine(idle: Duration? = .seconds(60)) -> ConnectionLivenessStateMachine {
        ConnectionLivenessStateMachine(
            configuration: .init(keepaliveInterval: .seconds(10), keepaliveTimeout: .seconds(5), idleTimeout: idle),
            now: self.start
        )
    }

    @Test func pingsAfterSilenceAndDeclaresThePeerDeadWhenNothingAnswers() {
        var machine = self.machine()
        machine.openCallsChanged(to: 1, now: self.start)
        #expect(machine.tick(now: self.start + .seconds(9)) == .none)
        #expect(machine.tick(now: self.start + .seconds(10)) == .sendPing(opaque: 1))
        #expect(machine.tick(now: self.start + .seconds(12)) == .none)
        #expect(machine.tick(now: self.start + .seconds(15)) == .closeDeadPeer)
    }

    @Test func anyDataAfterAPingKeepsTheConnection() {
        var machine = self.machine()
        machine.openCallsChanged(to: 1, now: self.start)
        #expect(machine.tick(now: self.start + .seconds(10)) == .sendPing(opaque: 1))
        machine.receivedData(now: self.start + .seconds(11))
        #expect(machine.tick(now: self.start + .seconds(16)) == .none)
        #expect(machine.tick(now: self.start + .seconds(21)) == .sendPing(opaque: 2))
    }

    @Test func anIdleConnectionIsClosedOnceAndNotWhileCallsAreOpen() {
        var machine = self.machine(idle: .seconds(30))
        machine.receivedData(now: self.start + .seconds(25))
        #expect(machine.tick(now: self.start + .seconds(29)) == .none)
        machine.receivedData(now: self.start + .seconds(30))
        #expect(machine.tick(now: self.start + .seconds(30)) == .closeIdle)
        machine.receivedData(now: self.start + .seconds(31))
        #expect(machine.tick(now: self.start + .seconds(31)) == .none)
        machine.openCallsChanged(to: 2, now: self.start + .seconds(32))
        machine.receivedData(now: self.start + .seconds(100))
        #expect(machine.tick(now: self.start + .seconds(100)) == .none)
        machine.openCallsChanged(to: 0, now: self.start + .seconds(100))
        machine.receivedData(now: self.start + .seconds(130))
        #expect(machine.tick(now: self.start + .seconds(130)) == .closeIdle)
    }

    @Test func theTickIntervalFollowsTheShortestTimeout() {
        #expect(self.machine(idle: nil).tickInterval == .milliseconds(1250))
        #expect(self.machine(idle: .seconds(2)).tickInterval == .milliseconds(500))
    }
}

@Suite struct DeadlineQueueTests {
    @Test func expiredCallsComeOutInDeadlineOrderSkippingEndedOnes() {
        let start = ContinuousClock.now
        var queue = DeadlineQueue<Int>()
        var random = SeededRandom(seed: 7)
        let offsets = (0..<1000).map { _ in Int.random(in: 0..<10_000, using: &random) }
        for (id, offset) in offsets.enumerated() { queue.insert(id, deadline: start + .milliseconds(offset)) }
        let ended = Set((0..<1000).filter { $0 % 3 == 0 })
        var popped: [Int] = []
        for step in stride(from: 0, through: 10_000, by: 250) {
            popped += queue.popExpired(now: start + .milliseconds(step)) { !ended.contains($0) }
        }
        #expect(popped.count == 1000 - ended.count)
        #expect(popped.map { offsets[$0] } == popped.map { offsets[$0] }.sorted())
        #expect(queue.isEmpty)
    }

    @Test func endedCallsNeverPileUp() {
        let start = ContinuousClock.now
        var queue = DeadlineQueue<Int>()
        var open: Set<Int> = []
        // A long run of calls with 30-second deadlines that all end quickly.
        for id in 0..<100_000 {
            queue.insert(id, deadline: start + .seconds(30))
            open.insert(id)
            if id >= 10 { open.remove(id - 10) }
            queue.compactIfNeeded(openCount: open.count) { open.contains($0) }
        }
        #expect(queue.count <= 2 * open.count + 64)
        queue.trim { open.contains($0) }
        #expect(queue.earliest == start + .seconds(30))
    }
}

@Suite struct CircuitBreakerTests {
    private var configuration: CircuitBreaker.Configuration {
        var configuration = CircuitBreaker.Configuration()
        configuration.windowSize = 10
        configuration.minimumCalls = 4
        configuration.failureRateThreshold = 0.5
        configuration.openDuration = .seconds(5)
        configuration.halfOpenTrialCalls = 2
        return configuration
    }

    @Test func opensAtTheFailureRateThenHalfOpensAndClosesAfterGoodTrials() {
        let start = ContinuousClock.now
        var breaker = CircuitBreaker(configuration: self.configuration)
        for failure in [false, true, false] { breaker.record(failure: failure, now: start) }
        #expect(breaker.state == .closed)
        breaker.record(failure: true, now: start)
        #expect(breaker.state == .open(until: start + .seconds(5)))
        #expect(breaker.allowsCall(now: start + .seconds(4)) == false)
        // Half-open: exactly the trial calls are let through.
        #expect(breaker.allowsCall(now: start + .seconds(5)) == true)
        #expect(breaker.allowsCall(now: start + .seconds(5)) == true)
        #expect(breaker.allowsCall(now: start + .seconds(5)) == false)
        breaker.record(failure: false, now: start + .seconds(6))
        #expect(breaker.state == .halfOpen(started: 2, succeeded: 1))
        breaker.record(failure: false, now: start + .seconds(6))
        #expect(breaker.state == .closed)
        #expect(breaker.allowsCall(now: start + .seconds(6)) == true)
    }

    @Test func aFailedTrialReopens() {
        let start = ContinuousClock.now
        var breaker = CircuitBreaker(configuration: self.configuration)
        for _ in 0..<4 { breaker.record(failure: true, now: start) }
        #expect(breaker.allowsCall(now: start + .seconds(5)) == true)
        breaker.record(failure: true, now: start + .seconds(5))
        #expect(breaker.state == .open(until: start + .seconds(10)))
    }

    @Test func oldOutcomesLeaveTheWindow() {
        let start = ContinuousClock.now
        var configuration = self.configuration
        configuration.windowSize = 4
        var breaker = CircuitBreaker(configuration: configuration)
        // One failure in every four: never half.
        for index in 0..<100 { breaker.record(failure: index % 4 == 0, now: start) }
        #expect(breaker.state == .closed)
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffIsCappedExponentialWithFullJitter() {
        let policy = RetryPolicy()
        #expect(policy.backoff(beforeAttempt: 2, random: 1) == .milliseconds(50))
        #expect(policy.backoff(beforeAttempt: 3, random: 1) == .milliseconds(100))
        #expect(policy.backoff(beforeAttempt: 4, random: 0.5) == .milliseconds(100))
        #expect(policy.backoff(beforeAttempt: 20, random: 1) == .seconds(1))
        #expect(policy.backoff(beforeAttempt: 3, random: 0) == .zero)
    }

    @Test func theThrottleStopsRetriesDuringAnOutageAndRecoversSlowly() {
        var throttle = RetryThrottle(maxTokens: 10, tokenRatio: 0.1)
        var retries = 0
        // An outage: every attempt fails; retries are allowed only while the bucket is over half.
        for _ in 0..<100 {
            throttle.recordFailure()
            if throttle.allowsRetry { retries += 1 }
        }
        #expect(retries == 4)
        #expect(!throttle.allowsRetry)
        // Recovery: 51 successes take the bucket back over half.
        for _ in 0..<50 { throttle.recordSuccess() }
        #expect(!throttle.allowsRetry)
        throttle.recordSuccess()
        #expect(throttle.allowsRetry)
    }
}

@Suite struct LoadBalancerTests {
    let endpoints = (1...3).map { Endpoint(host: "10.0.0.\($0)", port: 7000) }

    @Test func powerOfTwoChoicesPrefersTheLessLoadedEndpoint() {
        var balancer = LoadBalancer(endpoints: self.endpoints)
        var random = SeededRandom(seed: 1)
        let now = ContinuousClock.now
        var picks: [Endpoint: Int] = [:]
        for _ in 0..<300 {
            let endpoint = balancer.pick(now: now, random: &random)!
            picks[endpoint, default: 0] += 1
        }
        // Nothing ended: P2C keeps in-flight counts within one of each other.
        let counts = self.endpoints.map { balancer.inFlight(at: $0) }
        #expect(counts.max()! - counts.min()! <= 1)
        #expect(picks.values.reduce(0, +) == 300)
    }

    @Test func consecutiveFailuresEjectAnEndpointForAWhile() {
        var configuration = LoadBalancer.Configuration()
        configuration.consecutiveFailures = 3
        configuration.baseEjectionTime = .seconds(30)
        configuration.breaker.minimumCalls = 100
        var balancer = LoadBalancer(endpoints: self.endpoints, configuration: configuration)
        let now = ContinuousClock.now
        let bad = self.endpoints[0]
        for _ in 0..<3 { balancer.callEnded(at: bad, outcome: .endpointFailure, now: now) }
        #expect(balancer.isEjected(bad, now: now))
        var random = SeededRandom(seed: 2)
        for _ in 0..<100 { #expect(balancer.pick(now: now + .seconds(1), random: &random) != bad) }
        // Back after the ejection time; a second ejection lasts twice as long.
        #expect(!balancer.isEjected(bad, now: now + .seconds(30)))
        for _ in 0..<3 { balancer.callEnded(at: bad, outcome: .endpointFailure, now: now + .seconds(31)) }
        #expect(balancer.isEjected(bad, now: now + .seconds(90)))
        #expect(!balancer.isEjected(bad, now: now + .seconds(91)))
    }

    @Test func neutralOutcomesDoNotCountAgainstAnEndpoint() {
        var configuration = LoadBalancer.Configuration()
        configuration.consecutiveFailures = 2
        var balancer = LoadBalancer(endpoints: self.endpoints, configuration: configuration)
        let now = ContinuousClock.now
        for _ in 0..<20 { balancer.callEnded(at: self.endpoints[1], outcome: .neutral, now: now) }
        #expect(!balancer.isEjected(self.endpoints[1], now: now))
        #expect(balancer.breakerState(of: self.endpoints[1]) == .closed)
    }

    @Test func onlyServerAndNetworkFailureCodesCountAgainstAnEndpoint() {
        for code in RPCResilienceTests.callerFaultCodes {
            #expect(LoadBalancer.Outcome(endingWith: code) == .neutral, "\(code.name)")
        }
        for code in RPCResilienceTests.serverFaultCodes {
            #expect(LoadBalancer.Outcome(endingWith: code) == .endpointFailure, "\(code.name)")
        }
        #expect(LoadBalancer.Outcome(endingWith: .ok) == .success)
        #expect(RPCError.Code.resourceExhausted.chargesRetryThrottle, "a retried code is still throttled")
        #expect(!RPCError.Code.unauthenticated.chargesRetryThrottle)
    }

    @Test func atMostOneEndpointOfFewIsEjectedAtOnce() {
        var configuration = LoadBalancer.Configuration()
        configuration.consecutiveFailures = 1
        var balancer = LoadBalancer(endpoints: self.endpoints, configuration: configuration)
        let now = ContinuousClock.now
        for endpoint in self.endpoints { balancer.callEnded(at: endpoint, outcome: .endpointFailure, now: now) }
        #expect(self.endpoints.filter { balancer.isEjected($0, now: now) }.count == 1)
    }

    @Test func unhealthyEndpointsAreSkippedUntilTheyServeAgain() {
        var balancer = LoadBalancer(endpoints: self.endpoints)
        var random = SeededRandom(seed: 3)
        let now = ContinuousClock.now
        balancer.healthChanged(of: self.endpoints[2], to: .notServing)
        for _ in 0..<100 {
            let picked = balancer.pick(now: now, random: &random)!
            #expect(picked != self.endpoints[2])
            balancer.callEnded(at: picked, outcome: .success, now: now)
        }
        balancer.healthChanged(of: self.endpoints[2], to: .serving)
        var sawIt = false
        for _ in 0..<100 {
            let picked = balancer.pick(now: now, random: &random)!
            sawIt = sawIt || picked == self.endpoints[2]
            balancer.callEnded(at: picked, outcome: .success, now: now)
        }
        #expect(sawIt)
    }

    @Test func whenHealthRulesOutEveryEndpointItIsIgnored() {
        var balancer = LoadBalancer(endpoints: self.endpoints)
        var random = SeededRandom(seed: 5)
        let now = ContinuousClock.now
        for endpoint in self.endpoints { balancer.healthChanged(of: endpoint, to: .notServing) }
        #expect(balancer.pick(now: now, random: &random) != nil)
        // Ejection and backoff still count in panic mode.
        var single = LoadBalancer(endpoints: [self.endpoints[0]])
        single.healthChanged(of: self.endpoints[0], to: .notServing)
        single.connectFailed(to: self.endpoints[0], now: now, jitter: 0.5)
        #expect(single.pick(now: now, random: &random) == nil)
    }

    @Test func reconnectBackoffGrowsIsCappedAndJittered() {
        var balancer = LoadBalancer(endpoints: [self.endpoints[0]])
        let now = ContinuousClock.now
        var random = SeededRandom(seed: 4)
        balancer.connectFailed(to: self.endpoints[0], now: now, jitter: 0.5)
        #expect(balancer.pick(now: now + .milliseconds(99), random: &random) == nil)
        #expect(balancer.pick(now: now + .milliseconds(100), random: &random) == self.endpoints[0])
        for _ in 0..<20 { balancer.connectFailed(to: self.endpoints[0], now: now, jitter: 1) }
        // Capped at 5 s, plus 20 % jitter at most.
        #expect(balancer.pick(now: now + .milliseconds(5999), random: &random) == nil)
        #expect(balancer.pick(now: now + .seconds(6), random: &random) == self.endpoints[0])
        balancer.connected(to: self.endpoints[0])
        #expect(balancer.pick(now: now, random: &random) == self.endpoints[0])
    }

    @Test func reResolutionKeepsTheRecordsOfEndpointsThatStay() {
        var configuration = LoadBalancer.Configuration()
        configuration.consecutiveFailures = 1
        var balancer = LoadBalancer(endpoints: self.endpoints, configuration: configuration)
        let now = ContinuousClock.now
        balancer.callEnded(at: self.endpoints[0], outcome: .endpointFailure, now: now)
        let added = Endpoint(host: "10.0.0.9", port: 7000)
        balancer.update(endpoints: [self.endpoints[0], added])
        #expect(balancer.endpoints == [self.endpoints[0], added])
        #expect(balancer.isEjected(self.endpoints[0], now: now))
        #expect(!balancer.isEjected(added, now: now))
    }
}

@Suite struct WireFrameTests {
    /// Every frame kind, encoded by RPCKit's hand-written encoder, decodes with swift-protobuf to
    /// the same message, and back.
    @Test func theHandWrittenCodecAgreesWithSwiftProtobuf() throws {
        var status = RPCStatus(RPCError.invalidArgument(field: "name", "must not be empty"))
        status.retryDelayMillis = 250
        var payload = ByteBuffer()
        payload.writeBytes([0, 1, 2, 0xFF])
        let frames: [WireFrame<ByteBuffer>] = [
            .request(
                callID: 1,
                WireRequest(
                    method: "pixecom.x.v1.S/M", metadata: ["a": "b", "x-request-id": "r1"], timeoutMicros: 50_000, payload: payload,
                    initialWindow: 4)
            ),
            .request(callID: 3, WireRequest(method: "m")),
            .response(callID: 5, payload: payload, status: .ok),
            .response(callID: 7, payload: payload, status: nil),
            .response(callID: 9, payload: ByteBuffer(), status: status),
            .cancel(callID: 11),
            .goAway(lastCallID: 13, reason: "bye"),
            .ping(opaque: .max),
            .pong(opaque: 0),
            .windowUpdate(callID: 15, messages: 8),
        ]
        for frame in frames {
            var buffer = ByteBuffer()
            frame.write(to: &buffer)
            #expect(buffer.readInteger(as: UInt32.self) == UInt32(frame.bodySize))
            #expect(buffer.readableBytes == frame.bodySize)
            let reference = try Pixecom_Rpc_V1_Frame(serializedBytes: Array(buffer.readableBytesView))
            #expect(reference.callID == frame.callID)
            // swift-protobuf's own encoding decodes with RPCKit to the same frame again.
            let bytes: [UInt8] = try reference.serializedBytes()
            let decoded = try WireFrame.decode(ByteBuffer(bytes: bytes))
            var again = ByteBuffer()
            decoded.write(to: &again)
            again.moveReaderIndex(forwardBy: 4)
            #expect(try Pixecom_Rpc_V1_Frame(serializedBytes: Array(again.readableBytesView)) == reference)
        }
    }

    @Test func requestFieldsSurviveTheRoundTrip() throws {
        var reference = Pixecom_Rpc_V1_Frame()
        reference.callID = 21
        reference.request.method = "pixecom.testing.v1.EchoService/Echo"
        reference.request.metadata = ["authorization": "Bearer t", "traceparent": "00-x"]
        reference.request.timeoutMicros = 123
        reference.request.payload = Data([9, 8, 7])
        reference.request.initialWindow = 32
        let bytes: [UInt8] = try reference.serializedBytes()
        guard case .request(let id, let request) = try WireFrame.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("not decoded as a request")
            return
        }
        #expect(id == 21)
        #expect(request.method == reference.request.method)
        #expect(request.metadata == reference.request.metadata)
        #expect(request.timeoutMicros == 123)
        #expect(Array(request.payload.readableBytesView) == [9, 8, 7])
        #expect(request.initialWindow == 32)
    }

    @Test func statusDetailsSurviveTheRoundTrip() throws {
        var reference = Pixecom_Rpc_V1_Frame()
        reference.callID = 1
        reference.response.status.code = .failedPrecondition
        reference.response.status.message = "nope"
        var violation = Pixecom_Rpc_V1_FieldViolation()
        violation.field = "a.b"
        violation.description_p = "bad"
        reference.response.status.fieldViolations = [violation]
        reference.response.status.retryInfo.retryDelayMillis = 9
        reference.response.status.notProcessed = true
        let bytes: [UInt8] = try reference.serializedBytes()
        guard case .response(_, _, let status?) = try WireFrame.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("not decoded as a final response")
            return
        }
        #expect(status.notProcessed)
        var encoded = ByteBuffer()
        WireFrame.response(callID: 1, payload: ByteBuffer(), status: status).write(to: &encoded)
        encoded.moveReaderIndex(forwardBy: 4)
        #expect(try Pixecom_Rpc_V1_Frame(serializedBytes: Array(encoded.readableBytesView)) == reference)
        #expect(
            status.error
                == RPCError(.failedPrecondition, "nope", fieldViolations: [.init(field: "a.b", description: "bad")], retryDelayMillis: 9))
    }

    @Test func aStatusCodeOutsideTheCanonicalSetReadsAsUnknown() throws {
        // Frame{call_id: 1, response: {status: {code: 99}}}
        let bytes: [UInt8] = [0x08, 0x01, 0x1A, 0x04, 0x12, 0x02, 0x08, 0x63]
        guard case .response(_, _, let status?) = try WireFrame.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("not decoded as a final response")
            return
        }
        #expect(status.code == .unknown)
    }

    @Test func unknownFieldsAndKindsFromANewerRevisionAreSkipped() throws {
        var reference = Pixecom_Rpc_V1_Frame()
        reference.callID = 5
        reference.ping.opaque = 3
        var bytes: [UInt8] = try reference.serializedBytes()
        // An unknown varint field 40 and an unknown length-delimited field 41.
        bytes += [0xC0, 0x02, 0x01, 0xCA, 0x02, 0x02, 0xAA, 0xBB]
        guard case .ping(let opaque) = try WireFrame.decode(ByteBuffer(bytes: bytes)) else {
            Issue.record("the ping was lost")
            return
        }
        #expect(opaque == 3)
        // A frame carrying only an unknown kind.
        guard case .unknown(let id) = try WireFrame.decode(ByteBuffer(bytes: [0x08, 0x07, 0xCA, 0x02, 0x00])) else {
            Issue.record("an unknown kind was not reported as unknown")
            return
        }
        #expect(id == 7)
    }
}

@Suite struct FrameWriterTests {
    @Test func framesOfOneFlushShareOneBufferAndOneScheduledFlush() throws {
        var writer = FrameWriter()
        let allocator = ByteBufferAllocator()
        let first = writer.append(.ping(opaque: 1), allocator: allocator)
        #expect(first.scheduleFlush && first.chunk == nil)
        let second = writer.append(.pong(opaque: 2), allocator: allocator)
        #expect(!second.scheduleFlush && second.chunk == nil)
        var bytes = try #require(writer.flush()?.bytes)
        var reader = FrameReader(maxFrameSize: 1024)
        reader.append(bytes)
        guard case .frame(.ping(1)) = reader.next(), case .frame(.pong(2)) = reader.next() else {
            Issue.record("the flush did not carry both frames in order")
            return
        }
        #expect(writer.flush() == nil)
        // During a read the read's end flushes: nothing is scheduled.
        writer.reading = true
        #expect(!writer.append(.ping(opaque: 3), allocator: allocator).scheduleFlush)
        bytes = try #require(writer.flush()?.bytes)
        #expect(bytes.readableBytes > 0)
    }

    @Test func largeBurstsLeaveInChunks() {
        var writer = FrameWriter()
        var payload = ByteBuffer()
        payload.writeRepeatingByte(1, count: 40 * 1024)
        let first = writer.append(.response(callID: 1, payload: payload, status: .ok), allocator: ByteBufferAllocator())
        #expect(first.chunk == nil)
        let second = writer.append(.response(callID: 3, payload: payload, status: .ok), allocator: ByteBufferAllocator())
        #expect((second.chunk?.readableBytes ?? 0) > FrameWriter.chunk)
        #expect(writer.flush()?.bytes == nil)
    }
}
