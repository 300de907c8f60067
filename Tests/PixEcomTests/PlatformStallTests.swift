import Foundation
import Logging
import NIOConcurrencyHelpers
import PixEcomProtos
import PostgresNIO
import RPCKit
import Testing

@testable import CampaignService
@testable import ServiceKit

/// CampaignService calls its ad platform with no transaction open and no row locked: while creates
/// wait on a platform that stalls, the pool's connections stay free for everyone else.
@Suite("Ad platform stalls")
struct PlatformStallTests {
    static let logger = Logger(label: "test.platform-stall")

    @Test("creates stalled on the ad platform hold no pool connection and no transaction")
    func stalledCreatesHoldNoConnection() async throws {
        let database = try await CampaignDatabase.create()
        let stalled = 6
        let platform = StallingAdPlatform()
        try await database.withAppClient(connections: 2) { db in
            let handlers = CampaignHandlers(db: db, verifier: TokenVerifier(fetchKeys: { [:] }), platform: platform, vault: try .random())
            let sellerID = UUID()
            let context = Self.context(sellerID: sellerID)
            let account = try await handlers.createAdAccount(
                .with {
                    $0.name = "Stall"
                    $0.currency = "USD"
                    $0.timeZone = "UTC"
                }, context: context)
            platform.stall()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<stalled {
                    group.addTask {
                        _ = try await handlers.createCampaign(
                            .with {
                                $0.adAccountID = account.id
                                $0.name = "Campaign \(index)"
                                $0.objective = "OUTCOME_SALES"
                                $0.dailyBudget = 1000
                            }, context: context)
                    }
                }
                // All creates are inside the platform call, three times the pool's size...
                try await Self.eventually { platform.waiting == stalled }
                // ...and reads still get a connection at once, again and again.
                for _ in 0..<20 {
                    let page = try await Self.within(.seconds(5)) {
                        try await handlers.listCampaigns(.with { $0.pageSize = 50 }, context: context)
                    }
                    #expect(page.campaigns.isEmpty)
                    _ = try await Self.within(.seconds(5)) {
                        try await handlers.getAdAccount(.with { $0.id = account.id }, context: context)
                    }
                }
                // No session of the runtime role sits in an open transaction.
                let appRole = URLComponents(string: database.urls.app)?.user ?? ""
                let open = try await TestDatabases.withClient(database.urls.admin) { admin in
                    let rows = try await admin.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = \(appRole) AND state LIKE 'idle in transaction%'")
                    var count = -1
                    for try await value in rows.decode(Int.self) { count = value }
                    return count
                }
                #expect(open == 0)
                platform.release()
                try await group.waitForAll()
            }
            let page = try await handlers.listCampaigns(.with { $0.pageSize = 50 }, context: context)
            #expect(page.campaigns.count == stalled)
        }
    }

    /// A call context already authenticated as an OWNER of `sellerID` on the pro plan.
    static func context(sellerID: UUID) -> ServerContext {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = AccessClaims(
            sub: UUID().uuidString.lowercased(), sellerID: sellerID.uuidString.lowercased(), role: "OWNER", plan: "pro",
            iat: now, exp: now + 900, jti: UUID().uuidString)
        var context = ServerContext(
            method: "test", metadata: [:], deadline: nil, peerService: nil, requestID: "stall-test", logger: Self.logger)
        context.caller = VerifiedToken(claims)
        return context
    }

    /// `body`'s result, or a failure when it takes longer than `limit` (a pool with no free
    /// connection would make it wait for good).
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            guard let first = try await group.next(), let result = first else {
                group.cancelAll()
                throw TestSetupError("no answer within \(limit): the pool had no free connection")
            }
            group.cancelAll()
            return result
        }
    }

    static func eventually(_ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestSetupError("condition not met within 30 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// An ad platform whose creates, once `stall()` is called, wait until `release()`; ids are
/// minted like the sandbox's. Updates succeed at once.
final class StallingAdPlatform: AdPlatform, Sendable {
    private struct State {
        var stalling = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let name = "stalling"
    private let state = NIOLockedValueBox(State())

    var waiting: Int { self.state.withLockedValue { $0.waiters.count } }

    func stall() { self.state.withLockedValue { $0.stalling = true } }

    func release() {
        let waiters = self.state.withLockedValue { state in
            state.stalling = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func pass() async {
        await withCheckedContinuation { continuation in
            let proceed = self.state.withLockedValue { state in
                if state.stalling { state.waiters.append(continuation) }
                return !state.stalling
            }
            if proceed { continuation.resume() }
        }
    }

    let signsInWithoutToken = true

    func connect(accessToken: String, call: AdPlatformCall) async throws -> PlatformGrant {
        PlatformGrant(userID: SandboxObjectKind.mintDigits(15), accessToken: accessToken.isEmpty ? "stalling-token" : accessToken)
    }

    func createAdAccount(_ spec: AdAccountSpec, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        await self.pass()
        return PlatformAdAccount(
            externalID: SandboxObjectKind.adAccount.mintID(), name: spec.name, currency: spec.currency, timeZone: spec.timeZone, pages: [])
    }

    func adAccount(_ externalID: String, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        throw AdPlatformError(.objectNotFound, "no ad account \(externalID)", field: "external_id")
    }

    func createCampaign(_ spec: CampaignSpec, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        await self.pass()
        return SandboxObjectKind.campaign.mintID()
    }

    func createAdSet(_ spec: AdSetSpec, inCampaign campaignID: String, call: AdPlatformCall) async throws -> String {
        await self.pass()
        return SandboxObjectKind.adSet.mintID()
    }

    func createCreative(_ spec: PlatformCreative, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        await self.pass()
        return SandboxObjectKind.creative.mintID()
    }

    func createAd(_ spec: AdSpec, inAdSet adSetID: String, call: AdPlatformCall) async throws -> String {
        await self.pass()
        return SandboxObjectKind.ad.mintID()
    }

    func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall) async throws {}

    func updateSettings(of externalID: String, _ settings: PlatformSettings, call: AdPlatformCall) async throws {}
}
