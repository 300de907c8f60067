import EchoService
import Foundation
import NIOConcurrencyHelpers
import PixEcomProtos
import Testing

@testable import RPCCore
@testable import RPCKit

/// The client channel over several replicas: drain, replica death, breakers, health checks.
@Suite("RPCKit across replicas")
struct RPCResilienceTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    @Test func aDrainingReplicaFinishesItsCallsWhileNewCallsGoToAnother() async throws {
        // A drain timeout far beyond what the calls need, so that ending with the last call is told
        // apart from ending at the timeout even on a loaded machine.
        let a = try await EchoServer(certificates: self.certificates, name: "a") { $0.drainTimeout = .seconds(120) }
        let b = try await EchoServer(certificates: self.certificates, name: "b")
        let client = try EchoServer.client(to: [a.endpoint, b.endpoint], self.certificates)
        // Six calls in flight: power of two choices puts three on each replica.
        var request = Pixecom_Testing_V1_SleepRequest()
        request.micros = 800_000
        let sleepers = (0..<6).map { _ in
            Task { [request] in try await client.unary(EchoServer.sleep, request, as: EchoServer.Response.self) }
        }
        _ = try await a.wait { $0.calls >= 1 }
        _ = try await b.wait { $0.calls >= 1 }
        let aCallsBeforeDrain = try await a.wait { $0.calls + b.calls == 6 }.calls
        let clock = ContinuousClock()
        let drainStarted = clock.now
        a.beginShutdown()
        let stopped = Task { await a.stop() }
        try await Task.sleep(for: .milliseconds(50))
        // New calls, not idempotent, after the GOAWAY: every one succeeds, none reaches `a`.
        for index in 0..<20 {
            let response = try await client.unary(EchoServer.echo, EchoServer.Request("after-\(index)"), as: EchoServer.Response.self)
            #expect(response.text == "after-\(index)")
        }
        #expect(a.calls == aCallsBeforeDrain)
        // The calls in flight on `a` complete normally.
        for sleeper in sleepers { _ = try await sleeper.value }
        await stopped.value
        // The drain ended with the last call, not at the 120-second drain timeout.
        #expect(clock.now - drainStarted < .seconds(60))
        await client.close()
        await b.stop()
    }

    /// Three replicas in their own processes; one is killed with SIGKILL in the middle of the load.
    @Test func killingOneOfThreeReplicasUnderLoad() async throws {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-replicas")
        let replicas = (1...3).map {
            ServiceProcess(
                name: "echo-\($0)",
                executable: "EchoServer",
                environment: ["PIXECOM_ECHO_CERTIFICATE_DIR": self.certificates.directory.path],
                directory: directory
            )
        }
        for replica in replicas { try await replica.start() }
        let endpoints = replicas.map { Endpoint(host: "127.0.0.1", port: $0.rpcPort) }
        let client = try EchoServer.client(to: endpoints, self.certificates) { configuration in
            configuration.defaultTimeout = .seconds(10)
        }
        var request = Pixecom_Testing_V1_SleepRequest()
        request.micros = 30_000

        struct Outcome: Sendable {
            var idempotent: Bool
            var code: RPCError.Code?
            var duration: Duration
        }
        let outcomes = NIOLockedValueBox<[Outcome]>([])
        let clock = ContinuousClock()
        // 5 s of load, longer (up to 60 s) until each kind has made more than 50 calls: a machine
        // busy with the other suites may serve few calls in the first seconds.
        let end = clock.now + .seconds(5)
        let hardEnd = clock.now + .seconds(60)
        @Sendable func enoughLoad(idempotent: Bool) -> Bool {
            outcomes.withLockedValue { all in all.count { $0.idempotent == idempotent } > 50 }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<12 {
                let idempotent = worker % 2 == 0
                group.addTask { [request] in
                    while clock.now < end || (!enoughLoad(idempotent: idempotent) && clock.now < hardEnd) {
                        let start = clock.now
                        var code: RPCError.Code?
                        do {
                            _ = try await client.unary(EchoServer.sleep, request, as: EchoServer.Response.self, idempotent: idempotent)
                        } catch let error as RPCError {
                            code = error.code
                        }
                        let outcome = Outcome(idempotent: idempotent, code: code, duration: clock.now - start)
                        outcomes.withLockedValue { $0.append(outcome) }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))
                replicas[1].kill()
            }
            try await group.waitForAll()
        }
        let all = outcomes.withLockedValue { $0 }
        let idempotent = all.filter(\.idempotent)
        let other = all.filter { !$0.idempotent }
        #expect(idempotent.count > 50 && other.count > 50, "too little load: \(idempotent.count) + \(other.count) calls")
        #expect(idempotent.allSatisfy { $0.code == nil }, "idempotent failures: \(idempotent.compactMap(\.code))")
        let failed = other.filter { $0.code != nil }
        #expect(failed.allSatisfy { $0.code == .unavailable }, "non-idempotent failures: \(failed.compactMap(\.code))")
        // Only the calls in flight on the killed replica fail: at most one per worker.
        #expect(failed.count <= 6)
        // Nothing hangs: every call ends well within its 10-second timeout (5 s leaves room for a
        // machine loaded by the rest of the suite; a hung call would take the full 10).
        #expect(all.allSatisfy { $0.duration < .seconds(5) }, "slowest call: \(all.map(\.duration).max()!)")
        // Afterwards the channel works on the two survivors, without the dead one.
        for _ in 0..<10 {
            _ = try await client.unary(EchoServer.echo, EchoServer.Request("after"), as: EchoServer.Response.self)
        }
        await client.close()
        for replica in replicas { await replica.terminate() }
    }

    @Test func aBreakerOpensOnFailuresThenHalfOpensAndCloses() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates) { configuration in
            configuration.loadBalancer.breaker.windowSize = 10
            configuration.loadBalancer.breaker.minimumCalls = 4
            configuration.loadBalancer.breaker.failureRateThreshold = 0.5
            configuration.loadBalancer.breaker.openDuration = .milliseconds(300)
            configuration.loadBalancer.breaker.halfOpenTrialCalls = 1
        }
        let endpoint = server.endpoint
        var failing = Pixecom_Testing_V1_FailRequest()
        failing.code = Int32(RPCError.Code.internal.rawValue)
        failing.message = "broken"
        for _ in 0..<4 {
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.unary(EchoServer.fail, failing, as: EchoServer.Response.self)
            }
            #expect(error?.code == .internal)
        }
        guard case .open = client.state.withLockedValue({ $0.balancer.breakerState(of: endpoint) }) else {
            Issue.record("the breaker did not open")
            return
        }
        // Open: calls fail at once without reaching the server.
        let callsWhenOpened = server.calls
        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.unary(EchoServer.echo, EchoServer.Request(), as: EchoServer.Response.self)
        }
        #expect(refused?.code == .unavailable)
        #expect(refused?.message.contains("open circuit") == true)
        #expect(server.calls == callsWhenOpened)
        // Half-open after the open duration: one trial goes through; it fails and reopens.
        try await Task.sleep(for: .milliseconds(350))
        _ = try? await client.unary(EchoServer.fail, failing, as: EchoServer.Response.self)
        #expect(server.calls == callsWhenOpened + 1)
        guard case .open = client.state.withLockedValue({ $0.balancer.breakerState(of: endpoint) }) else {
            Issue.record("a failed trial did not reopen the breaker")
            return
        }
        // The next trial succeeds: closed again, calls flow.
        try await Task.sleep(for: .milliseconds(350))
        _ = try await client.unary(EchoServer.echo, EchoServer.Request("trial"), as: EchoServer.Response.self)
        #expect(client.state.withLockedValue { $0.balancer.breakerState(of: endpoint) } == .closed)
        for _ in 0..<5 {
            _ = try await client.unary(EchoServer.echo, EchoServer.Request(), as: EchoServer.Response.self)
        }
        #expect(server.calls == callsWhenOpened + 7)
        await client.close()
        await server.stop()
    }

    /// Codes that say the caller did something wrong (or gave up), not that the replica failed.
    static let callerFaultCodes: [RPCError.Code] = [
        .cancelled, .invalidArgument, .notFound, .alreadyExists, .permissionDenied, .resourceExhausted,
        .failedPrecondition, .aborted, .outOfRange, .unimplemented, .unauthenticated,
    ]
    /// Codes that say the replica or the network failed.
    static let serverFaultCodes: [RPCError.Code] = [.unavailable, .deadlineExceeded, .internal, .unknown, .dataLoss]

    @Test(
        "a flood of any caller-fault code (a lockout's RESOURCE_EXHAUSTED included) leaves both replicas in rotation; server-fault codes eject or open"
    )
    func callerFaultsNeverEjectAReplicaOrOpenItsBreaker() async throws {
        let a = try await EchoServer(certificates: self.certificates, name: "a")
        let b = try await EchoServer(certificates: self.certificates, name: "b")
        let endpoints = [a.endpoint, b.endpoint]
        func client() throws -> RPCClient {
            try EchoServer.client(to: endpoints, self.certificates) { configuration in
                configuration.retryPolicy = .none
                configuration.loadBalancer.consecutiveFailures = 3
                configuration.loadBalancer.maxEjectedPercent = 50
                configuration.loadBalancer.breaker.windowSize = 10
                configuration.loadBalancer.breaker.minimumCalls = 4
            }
        }
        func fail(_ client: RPCClient, _ code: RPCError.Code) async -> RPCError? {
            var request = Pixecom_Testing_V1_FailRequest()
            request.code = Int32(code.rawValue)
            request.message = "refused"
            do {
                _ = try await client.unary(EchoServer.fail, request, as: EchoServer.Response.self)
                return nil
            } catch {
                return error as? RPCError
            }
        }
        func outOfRotation(_ client: RPCClient) -> [Endpoint] {
            client.state.withLockedValue { state in
                endpoints.filter { endpoint in
                    let open = if case .open = state.balancer.breakerState(of: endpoint) { true } else { false }
                    return open || state.balancer.isEjected(endpoint, now: .now)
                }
            }
        }
        for code in Self.callerFaultCodes {
            let client = try client()
            for _ in 0..<24 {
                let error = await fail(client, code)
                #expect(error?.code == code, "\(code.name): \(String(describing: error))")
            }
            #expect(outOfRotation(client).isEmpty, "\(code.name) took a replica out of rotation")
            for _ in 0..<4 {
                _ = try await client.unary(EchoServer.echo, EchoServer.Request("after \(code.name)"), as: EchoServer.Response.self)
            }
            await client.close()
        }
        for code in Self.serverFaultCodes {
            let client = try client()
            for _ in 0..<24 { _ = await fail(client, code) }
            #expect(!outOfRotation(client).isEmpty, "\(code.name) left every replica in rotation")
            await client.close()
        }
        await a.stop()
        await b.stop()
    }

    @Test func anEndpointFailingHealthChecksLeavesRotationAndComesBack() async throws {
        let a = try await EchoServer(certificates: self.certificates, name: "a")
        let b = try await EchoServer(certificates: self.certificates, name: "b")
        let client = try EchoServer.client(to: [a.endpoint, b.endpoint], self.certificates) { configuration in
            configuration.healthCheckInterval = .milliseconds(100)
        }
        let maintenance = Task { try await client.run() }
        func health(_ server: EchoServer) -> LoadBalancer.Health? {
            client.state.withLockedValue { $0.balancer.health(of: server.endpoint) }
        }
        func waitFor(_ server: EchoServer, _ expected: LoadBalancer.Health) async throws {
            for _ in 0..<100 where health(server) != expected {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(health(server) == expected)
        }
        try await waitFor(a, .serving)
        a.server.health.set(.notServing)
        try await waitFor(a, .notServing)
        let before = a.calls
        for _ in 0..<30 {
            _ = try await client.unary(EchoServer.echo, EchoServer.Request(), as: EchoServer.Response.self)
        }
        #expect(a.calls == before, "an endpoint answering NOT_SERVING still got calls")
        a.server.health.set(.serving)
        try await waitFor(a, .serving)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 {
                group.addTask {
                    _ = try await client.unary(EchoServer.echo, EchoServer.Request(), as: EchoServer.Response.self)
                }
            }
            try await group.waitForAll()
        }
        #expect(a.calls > before, "the endpoint did not come back into rotation")
        maintenance.cancel()
        await client.close()
        await a.stop()
        await b.stop()
    }
    /// A replica at its per-connection call limit (here 0: always full) refuses calls unprocessed;
    /// the channel resends them elsewhere even though the method is not idempotent.
    @Test func callsRefusedUnprocessedMoveToAnotherReplica() async throws {
        let full = try await EchoServer(certificates: self.certificates, name: "full") { $0.maxConcurrentCallsPerConnection = 0 }
        let free = try await EchoServer(certificates: self.certificates, name: "free")
        let client = try EchoServer.client(to: [full.endpoint, free.endpoint], self.certificates)
        // Calls one at a time: each picks either replica with equal chance, so some reach `full`
        // first (all 40 missing it has a chance of 2^-40).
        for index in 0..<40 {
            let response = try await client.unary(
                EchoServer.echo, EchoServer.Request("n\(index)"), as: EchoServer.Response.self, idempotent: false)
            #expect(response.text == "n\(index)")
        }
        #expect(full.calls == 0)
        #expect(free.calls == 40)
        // Refusals say nothing against the refusing replica.
        #expect(client.state.withLockedValue { $0.balancer.breakerState(of: full.endpoint) } == .closed)
        await client.close()
        await full.stop()
        await free.stop()
    }

    @Test func healthAnswersPerServiceAndWatchersLearnOfShutdown() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let client = try server.client(self.certificates)
        func check(_ service: String) async throws -> Pixecom_Health_V1_HealthCheckResponse.ServingStatus {
            var request = Pixecom_Health_V1_HealthCheckRequest()
            request.service = service
            return try await client.unary("pixecom.health.v1.Health/Check", request, as: Pixecom_Health_V1_HealthCheckResponse.self).status
        }
        #expect(try await check("") == .serving)
        #expect(try await check(EchoService.name) == .serving)
        #expect(try await check("pixecom.nothing.v1.Nope") == .serviceUnknown)
        try await client.requireServing(timeout: .seconds(10))
        // Set once the Watch has delivered its first status: the call is open on the server.
        let watching = NIOLockedValueBox(false)
        let watched = Task {
            var request = Pixecom_Health_V1_HealthCheckRequest()
            request.service = EchoService.name
            return try await client.serverStreaming(
                "pixecom.health.v1.Health/Watch",
                request,
                as: Pixecom_Health_V1_HealthCheckResponse.self,
                timeout: .seconds(10)
            ) { stream in
                var statuses: [Pixecom_Health_V1_HealthCheckResponse.ServingStatus] = []
                for try await response in stream {
                    statuses.append(response.status)
                    watching.withLockedValue { $0 = true }
                }
                return statuses
            }
        }
        // Shut down only once the Watch is open (a fixed pause raced the call on a loaded machine).
        for _ in 0..<1000 where !watching.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try #require(watching.withLockedValue { $0 }, "the Watch never delivered its first status")
        let clock = ContinuousClock()
        let start = clock.now
        await server.stop()
        // The Watch ended with the shutdown, not at the drain timeout, after saying NOT_SERVING.
        #expect(clock.now - start < .seconds(5))
        let statuses = try await watched.value
        #expect(statuses == [.serving, .notServing])
        await client.close()
    }
}
