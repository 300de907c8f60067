import Dispatch
import Logging
import NIOConcurrencyHelpers
import RPCKit
import Testing

@testable import AuthService

/// AuthService's bounded password-hash pool does work only for callers still waiting.
@Suite("Password hash pool")
struct PasswordHasherTests {
    static func hasher() -> PasswordHasher {
        PasswordHasher(
            configuration: .init(threads: 1, maxQueued: 16, idlePriority: false, parameters: .init(logN: 10, r: 8, p: 1)),
            logger: Logger(label: "test.password-hasher")
        )
    }

    static func context(deadline: ContinuousClock.Instant?) -> ServerContext {
        ServerContext(
            method: "pixecom.auth.v1.AuthService/Register", metadata: [:], deadline: deadline, peerService: "edge",
            requestID: "hash-test", logger: Logger(label: "test.password-hasher"))
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func wait(until condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        try #require(condition())
    }

    @Test(
        "hashes queued behind a busy pool are dropped, never computed, when their call is cancelled or its deadline passes; live calls still hash"
    )
    func queuedHashesOfEndedCallsNeverRun() async throws {
        let hasher = Self.hasher()
        // Occupy the pool's one thread until released.
        let gate = DispatchSemaphore(value: 0)
        let running = NIOLockedValueBox(false)
        let blocker = Task {
            try await hasher.run {
                running.withLockedValue { $0 = true }
                gate.wait()
            }
        }
        try await Self.wait { running.withLockedValue { $0 } }

        let cancelled = (0..<3).map { index in
            Task { try await hasher.hash("cancelled-password-\(index)") }
        }
        // Far enough ahead that the three calls are queued before it passes, even on a loaded
        // machine (a call already past its deadline is refused before it queues, below).
        let deadline = ContinuousClock.now + .seconds(4)
        let expired = (0..<3).map { index in
            Task {
                try await ServerContext.$current.withValue(Self.context(deadline: deadline)) {
                    try await hasher.hash("expired-password-\(index)")
                }
            }
        }
        try await Self.wait { hasher.admittedCount == 7 }
        for task in cancelled { task.cancel() }
        while ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        gate.signal()
        try await blocker.value

        for task in cancelled {
            let error = await #expect(throws: RPCError.self) { _ = try await task.value }
            #expect(error?.code == .cancelled)
        }
        for task in expired {
            let error = await #expect(throws: RPCError.self) { _ = try await task.value }
            #expect(error?.code == .deadlineExceeded)
        }
        #expect(hasher.counted == .init(performed: 1, dropped: 6), "only the blocker ran: \(hasher.counted)")

        // A call whose deadline has already passed is refused before it queues.
        let late = await #expect(throws: RPCError.self) {
            try await ServerContext.$current.withValue(Self.context(deadline: .now - .seconds(1))) {
                _ = try await hasher.hash("late-password")
            }
        }
        #expect(late?.code == .deadlineExceeded)
        #expect(hasher.counted == .init(performed: 1, dropped: 6))

        // A live call, with or without a deadline, hashes.
        _ = try await hasher.hash("live-password")
        let live = try await ServerContext.$current.withValue(Self.context(deadline: .now + .seconds(60))) {
            try await hasher.hash("live-password-2")
        }
        #expect(try await hasher.verify("live-password-2", against: live))
        #expect(hasher.counted == .init(performed: 4, dropped: 6))
    }
}
