import Foundation

/// The whole system on ephemeral ports: the four services, each with its own database on the test
/// Postgres, and the edge, all over mutual TLS with the test CA.
///
/// By default everything runs inside the test process (`InProcessService`), on the runtime the
/// executables use: a system starts in about a second and many run side by side, each with its own
/// ports, databases, signing keys, clients and logs. A test that needs a process (to kill it, to
/// signal it, to read its threads) starts the system with `mode: .processes`.
final class PixEcomSystem: Sendable {
    /// Where the members run.
    enum Mode {
        /// Inside the test process.
        case inProcess
        /// One process each, from the built executables (`ServiceProcess`).
        case processes
    }

    let certificates: TestCertificates
    let directory: URL
    let databases: [String: TestDatabase]
    let auth: any SystemMember
    let campaign: any SystemMember
    let stats: any SystemMember
    let orders: any SystemMember
    let edge: any SystemMember

    static let hashKey = "test-token-hash-key-" + UUID().uuidString
    /// `PIXECOM_PLATFORM_TOKEN_KEYS` of the test process's systems: one random key, version 1.
    static let platformTokenKeys: String = {
        var generator = SystemRandomNumberGenerator()
        return "1:" + Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }()

    /// Starts everything. `ordersStatsAddress` overrides where OrderService delivers events.
    static func start(
        mode: Mode = .inProcess,
        ordersStatsAddress: String? = nil, environment extraAll: [String: String] = [:], authEnvironment extraAuth: [String: String] = [:],
        edgeEnvironment extraEdge: [String: String] = [:], ordersEnvironment extraOrders: [String: String] = [:]
    ) async throws -> PixEcomSystem {
        let certificates = try TestCertificates.shared.get()
        let directory = try TestEnvironment.temporaryDirectory("pixecom-system")
        let databases = try await TestDatabases.create(services: ["auth", "campaign", "stats", "orders"])

        // A member that fails to start stops the ones already running.
        var started: [any SystemMember] = []
        func launch(_ name: String, _ executable: String, _ environment: [String: String]) async throws -> any SystemMember {
            let member = Self.member(mode, name, executable: executable, environment: environment, directory: directory)
            started.append(member)
            do {
                try await member.start()
            } catch {
                for member in started.reversed() { await member.terminate() }
                throw error
            }
            return member
        }

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
        let auth = try await launch("auth", "AuthService", authEnvironment)

        var campaignEnvironment = common("campaign")
        campaignEnvironment["PIXECOM_DATABASE_URL"] = databases["campaign"]?.app
        campaignEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["campaign"]?.owner
        campaignEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        campaignEnvironment["PIXECOM_PLATFORM_TOKEN_KEYS"] = Self.platformTokenKeys
        let campaign = try await launch("campaign", "CampaignService", campaignEnvironment)

        var statsEnvironment = common("stats")
        statsEnvironment["PIXECOM_DATABASE_URL"] = databases["stats"]?.app
        statsEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["stats"]?.owner
        statsEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        statsEnvironment["PIXECOM_CAMPAIGN_ADDRESSES"] = campaign.address
        let stats = try await launch("stats", "StatsService", statsEnvironment)

        var ordersEnvironment = common("orders")
        ordersEnvironment["PIXECOM_DATABASE_URL"] = databases["orders"]?.app
        ordersEnvironment["PIXECOM_DATABASE_OWNER_URL"] = databases["orders"]?.owner
        ordersEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        ordersEnvironment["PIXECOM_STATS_ADDRESSES"] = ordersStatsAddress ?? stats.address
        ordersEnvironment.merge(extraOrders) { _, new in new }
        let orders = try await launch("orders", "OrderService", ordersEnvironment)

        var edgeEnvironment = common("edge")
        edgeEnvironment["PIXECOM_HTTP_HOST"] = "127.0.0.1"
        edgeEnvironment["PIXECOM_HTTP_PORT"] = "0"
        // The whole suite runs side by side on a few cores: a call may wait on a busy machine far
        // longer than in service. The tests check answers, not latency (benchmarks do that).
        edgeEnvironment["PIXECOM_HTTP_TIMEOUT_MS"] = "30000"
        edgeEnvironment["PIXECOM_HTTP_TLS_CERT"] = certificates.path("edge-https.pem")
        edgeEnvironment["PIXECOM_HTTP_TLS_KEY"] = certificates.path("edge-https.key")
        edgeEnvironment["PIXECOM_AUTH_ADDRESSES"] = auth.address
        edgeEnvironment["PIXECOM_CAMPAIGN_ADDRESSES"] = campaign.address
        edgeEnvironment["PIXECOM_STATS_ADDRESSES"] = stats.address
        edgeEnvironment["PIXECOM_ORDERS_ADDRESSES"] = orders.address
        edgeEnvironment.merge(extraEdge) { _, new in new }
        let edge = try await launch("edge", "Edge", edgeEnvironment)

        return PixEcomSystem(
            certificates: certificates, directory: directory, databases: databases,
            auth: auth, campaign: campaign, stats: stats, orders: orders, edge: edge
        )
    }

    private init(
        certificates: TestCertificates, directory: URL, databases: [String: TestDatabase],
        auth: any SystemMember, campaign: any SystemMember, stats: any SystemMember, orders: any SystemMember, edge: any SystemMember
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

    /// A member in `mode`, not started.
    private static func member(
        _ mode: Mode, _ name: String, executable: String, environment: [String: String], directory: URL
    ) -> any SystemMember {
        switch mode {
        case .inProcess: InProcessService(name: name, executable: executable, environment: environment)
        case .processes: ServiceProcess(name: name, executable: executable, environment: environment, directory: directory)
        }
    }

    /// Every member, the edge first: the order `stop` stops them in.
    var all: [any SystemMember] { [self.edge, self.orders, self.stats, self.campaign, self.auth] }

    /// The members' processes, for a system started with `mode: .processes`.
    var processes: [ServiceProcess] { self.all.compactMap { $0 as? ServiceProcess } }

    /// Graceful shutdown of every member (SIGTERM to a process), the edge first; returns the names
    /// of those that did not exit cleanly.
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
