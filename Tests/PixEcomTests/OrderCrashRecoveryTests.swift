import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// OrderService killed after committing a paid order but before delivering its event loses
/// nothing: after a restart the revenue reaches StatsService exactly once.
@Suite("Order events survive a crash")
struct OrderCrashRecoveryTests {
    /// A TCP port on loopback that nothing listens on.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        return port
    }

    static func pendingOutbox(_ url: String) async throws -> (pending: Int, delivered: Int) {
        try await TestDatabases.withClient(url) { client in
            let rows = try await client.query(
                "SELECT count(*) FILTER (WHERE delivered_at IS NULL), count(*) FILTER (WHERE delivered_at IS NOT NULL) FROM outbox"
            )
            for try await (pending, delivered) in rows.decode((Int, Int).self) {
                return (pending, delivered)
            }
            return (0, 0)
        }
    }

    @Test func sigkillBeforeDeliveryLosesNothingAndCountsOnce() async throws {
        // OrderService starts pointed at a dead StatsService address: events stay in its outbox.
        // In processes: OrderService is killed with SIGKILL.
        let system = try await PixEcomSystem.start(
            mode: .processes, ordersStatsAddress: "127.0.0.1:\(try await Self.closedPort())")
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Crashy")
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "acc", "currency": "EUR", "timeZone": "UTC"], token: seller.token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "c", "objective": "OUTCOME_SALES", "dailyBudget": "1000"],
                token: seller.token)
            let order = try await EndToEndTests.create(
                edge, "/v1/orders",
                [
                    "currency": "EUR", "lineItems": [["sku": "S", "title": "T", "quantity": 3, "unitPrice": "4200"]],
                    "utm": ["source": "facebook", "campaign": campaign, "content": ""],
                ],
                token: seller.token)
            let paid = try await edge.send(.POST, "/v1/orders/\(order)/pay", token: seller.token)
            try #require(paid.status == 200, "pay: \(paid.text)")
            let day = JSONValues.utcDay(ofTimestamp: JSONValues.string(paid.json["paidTime"]))

            // Committed, not delivered.
            let before = try await Self.pendingOutbox(system.databases["orders"]!.admin)
            #expect(before.pending == 1 && before.delivered == 0)

            await system.orders.kill()

            // Restart on the same database, now able to reach StatsService.
            var environment = system.orders.environment
            environment["PIXECOM_STATS_ADDRESSES"] = system.stats.address
            let restarted = ServiceProcess(
                name: "orders-restarted", executable: "OrderService", environment: environment, directory: system.directory)
            try await restarted.start()

            let stats = try await EndToEndTests.waitForStats(edge, campaignID: campaign, since: day, until: day, token: seller.token) {
                JSONValues.int64(EndToEndTests.days($0)[day]?["revenue"]) > 0
            }
            let answer = EndToEndTests.days(stats)[day] ?? [:]
            #expect(JSONValues.int64(answer["revenue"]) == 12600)
            #expect(JSONValues.int64(answer["orders"]) == 1)
            // The relay marks the event delivered in the transaction it commits after StatsService
            // answered, so the stats can show it a moment before the outbox does.
            var after = try await Self.pendingOutbox(system.databases["orders"]!.admin)
            for _ in 0..<100 where after.pending != 0 {
                try await Task.sleep(for: .milliseconds(100))
                after = try await Self.pendingOutbox(system.databases["orders"]!.admin)
            }
            #expect(after.pending == 0 && after.delivered == 1)
            // Still exactly once a little later (no second delivery sneaks in).
            try await Task.sleep(for: .milliseconds(600))
            let again = try await edge.send(.GET, "/v1/campaigns/\(campaign)/stats?since=\(day)&until=\(day)", token: seller.token)
            #expect(JSONValues.int64(EndToEndTests.days(again.json)[day]?["revenue"]) == 12600)
            await restarted.terminate()
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
