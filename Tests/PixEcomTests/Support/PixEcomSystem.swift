import Foundation

/// The whole system as separate processes on ephemeral ports: the four services, each with its
/// own database, and the edge, all over mutual TLS with a fresh CA.
final class PixEcomSystem: @unchecked Sendable {
    let certificates: TestCertificates
    let directory: URL
    let databases: [String: TestDatabase]
    let auth: ServiceProcess
    let campaign: ServiceProcess
    let stats: ServiceProcess
    let orders: ServiceProcess
    let edge: ServiceProcess

    static let hashKey = "test-token-hash-key-" + UUID().uuidString

    /// Starts everything. `ordersStatsAddress` overrides where OrderService delivers events.
    static func start(
        ordersStatsAddress: String? = nil, environment extraAll: [String: String] = [:], authEnvironment extraAuth: [String: String] = [:],
        edgeEnvironment extraEdge: [String: String] = [:], ordersEnvironment extraOrders: [String: String] = [:]
    ) async throws -> PixEcomSystem {
        let certificates = try TestCertificates.shared.get()
        let directory = try TestEnvironment.temporaryDirectory("pixecom-system")
        let databases = try await TestDatabases.create(services: ["auth", "campaign", "stats", "orders"])

        func common(_ service: String) -> [String: String] {
            [
                "PIXECOM_MODE": "development",
                "PIXECOM_LOG_LEVEL": "info",
                "PIXECOM_RPC_HOST": "127.0.0.1",
                "PIXECOM_RPC_PORT": "0",
                "PIXECOM_ADMIN_PORT": "0",
                "PIXECOM_TLS_CA": certificates.path("ca.pem"),
                "PIXECOM_TLS_CERT": certificates.path("\(service).pem"),
                "PIXECOM_TLS_KEY": certificates.path("\(service).key"),
            ].merging(extraAll) { _, new in new }
        }

        var authEnvironment = common("auth")
        authEnvironment["PIXECOM_DATABASE_URL"] = databases["auth"]?.app
        authEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["auth"]?.owner
        authEnvironment["PIXECOM_AUTH_TOKEN_HASH_KEY"] = hashKey
        // A short overlap for concurrent refreshes, so tests can wait it out.
        authEnvironment["PIXECOM_AUTH_REFRESH_OVERLAP_SECONDS"] = "3"
        // Cheap scrypt (N=2^12, 4 MiB) in tests: many systems hash at once on 2 cores, and the
        // OWASP setting (N=2^17) would push registrations past the edge's deadline.
        authEnvironment["PIXECOM_AUTH_SCRYPT_LOG_N"] = "12"
        // Hashes at normal priority in tests: the suite runs many CPU-bound tests side by side, and
        // under SCHED_IDLE a hash gets no CPU at all while they run, so registrations timed out
        // (504). The test of idle priority itself turns it back on.
        authEnvironment["PIXECOM_AUTH_HASH_IDLE_PRIORITY"] = "0"
        authEnvironment.merge(extraAuth) { _, new in new }
        let auth = ServiceProcess(name: "auth", executable: "AuthService", environment: authEnvironment, directory: directory)
        try await auth.start()

        var campaignEnvironment = common("campaign")
        campaignEnvironment["PIXECOM_DATABASE_URL"] = databases["campaign"]?.app
        campaignEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["campaign"]?.owner
        campaignEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        let campaign = ServiceProcess(
            name: "campaign", executable: "CampaignService", environment: campaignEnvironment, directory: directory)
        try await campaign.start()

        var statsEnvironment = common("stats")
        statsEnvironment["PIXECOM_DATABASE_URL"] = databases["stats"]?.app
        statsEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["stats"]?.owner
        statsEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        statsEnvironment["PIXECOM_CAMPAIGN_ADDRESSES"] = campaign.address
        let stats = ServiceProcess(name: "stats", executable: "StatsService", environment: statsEnvironment, directory: directory)
        try await stats.start()

        var ordersEnvironment = common("orders")
        ordersEnvironment["PIXECOM_DATABASE_URL"] = databases["orders"]?.app
        ordersEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["orders"]?.owner
        ordersEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        ordersEnvironment["PIXECOM_STATS_ADDRESSES"] = ordersStatsAddress ?? stats.address
        ordersEnvironment.merge(extraOrders) { _, new in new }
        let orders = ServiceProcess(name: "orders", executable: "OrderService", environment: ordersEnvironment, directory: directory)
        try await orders.start()

        var edgeEnvironment = common("edge")
        edgeEnvironment["PIXECOM_HTTP_HOST"] = "127.0.0.1"
        edgeEnvironment["PIXECOM_HTTP_PORT"] = "0"
        edgeEnvironment["PIXECOM_HTTP_TLS_CERT"] = certificates.path("edge-https.pem")
        edgeEnvironment["PIXECOM_HTTP_TLS_KEY"] = certificates.path("edge-https.key")
        edgeEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        edgeEnvironment["PIXECOM_CAMPAIGN_ADDRESSES"] = campaign.address
        edgeEnvironment["PIXECOM_STATS_ADDRESSES"] = stats.address
        edgeEnvironment["PIXECOM_ORDERS_ADDRESSES"] = orders.address
        edgeEnvironment.merge(extraEdge) { _, new in new }
        let edge = ServiceProcess(name: "edge", executable: "Edge", environment: edgeEnvironment, directory: directory)
        try await edge.start()

        return PixEcomSystem(
            certificates: certificates, directory: directory, databases: databases,
            auth: auth, campaign: campaign, stats: stats, orders: orders, edge: edge
        )
    }

    private init(
        certificates: TestCertificates, directory: URL, databases: [String: TestDatabase],
        auth: ServiceProcess, campaign: ServiceProcess, stats: ServiceProcess, orders: ServiceProcess, edge: ServiceProcess
    ) {
        self.certificates = certificates
        self.directory = directory
        self.databases = databases
        self.auth = auth
        self.campaign = campaign
        self.stats = stats
        self.orders = orders
        self.edge = edge
    }

    var all: [ServiceProcess] { [self.edge, self.orders, self.stats, self.campaign, self.auth] }

    /// SIGTERM to every process; returns names that did not exit cleanly.
    @discardableResult
    func stop() async -> [String] {
        var unclean: [String] = []
        for process in self.all where await process.terminate() != 0 {
            unclean.append(process.name)
        }
        return unclean
    }

    /// Every process's log tail, for failure messages.
    func logs() -> String {
        self.all.map { "== \($0.name)\n\($0.logTail(lines: 15))" }.joined(separator: "\n")
    }
}
