import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import PostgresNIO
import Prometheus
import RPCKit
import ServiceLifecycle

/// The common `main` of every RPC service: configuration, JSON logs, metrics, database pool,
/// migrations, the mutual-TLS RPC server, the admin port, the ready file and graceful shutdown.
public enum ServiceRuntime {
    /// Bootstraps logging and metrics once per process; returns the metrics registry.
    ///
    /// Also makes NIO's event loops Swift Concurrency's global executor (unless
    /// `PIXECOM_NIO_EXECUTOR=0`; see `EventLoopGlobalExecutor`): handlers then run on the thread
    /// that did their I/O, instead of hopping to the cooperative pool and back for every request
    /// and every RPC. Nothing in the services blocks a thread (password hashing has its own
    /// pool), which this requires.
    public static func bootstrap(name: String, environment: EnvironmentReader) -> PrometheusCollectorRegistry {
        if environment.string("PIXECOM_NIO_EXECUTOR", default: "1") != "0" {
            _ = EventLoopGlobalExecutor.install()
        }
        let level = Logger.Level(rawValue: environment.string("PIXECOM_LOG_LEVEL", default: "info")) ?? .info
        LoggingSystem.bootstrap { _ in JSONLogHandler(label: name, level: level) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Runs a service until SIGTERM/SIGINT. Exits the process with status 2 on a configuration
    /// error and 1 on any other start-up failure, after logging it.
    public static func run(
        name: String,
        defaultRPCPort: Int,
        defaultAdminPort: Int,
        migrations: URL?,
        setup: @escaping @Sendable (RuntimeContext) async throws -> ServiceSetup
    ) async -> Never {
        let environment = EnvironmentReader()
        let registry = Self.bootstrap(name: name, environment: environment)
        let logger = Logger(label: name)
        do {
            let configuration = try ServiceConfiguration(
                environment: environment,
                defaultRPCPort: defaultRPCPort,
                defaultAdminPort: defaultAdminPort,
                needsDatabase: migrations != nil
            )
            let database = try configuration.databaseURL.map {
                PostgresClient(
                    configuration: try DatabaseURL($0, variable: "PIXECOM_DATABASE_URL").clientConfiguration, backgroundLogger: logger)
            }
            let context = RuntimeContext(
                name: name,
                configuration: configuration,
                environment: environment,
                logger: logger,
                database: database,
                clientTLS: try RPCTLS.clientContext(configuration.tls),
                clients: ClientRegistry()
            )
            let main = MainService(context: context, registry: registry, migrations: migrations, setup: setup)
            var services: [any Service] = []
            if let database { services.append(database) }
            services.append(main)
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            )
            try await group.run()
            logger.info("service.stopped")
            exit(0)
        } catch let error as ConfigurationError {
            logger.critical("config.invalid", metadata: ["config.variable": "\(error.variable)", "error": "\(error)"])
            exit(2)
        } catch {
            logger.critical("service.failed", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }

    /// Writes `contents` to `path` atomically (a temporary file renamed into place).
    public static func writeReadyFile(_ path: String, _ contents: [String: Int]) throws {
        let data = try JSONSerialization.data(withJSONObject: contents, options: [.sortedKeys])
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}

/// Migrations, then the RPC server, the admin server and the service's background work.
private struct MainService: Service {
    let context: RuntimeContext
    let registry: PrometheusCollectorRegistry
    let migrations: URL?
    let setup: @Sendable (RuntimeContext) async throws -> ServiceSetup

    /// Applies the migrations as the tables' owner, on a pool of its own that closes after, and
    /// grants the runtime role what it needs.
    static func migrate(_ migrations: URL, ownerURL: String, runtimeURL: String, logger: Logger) async throws {
        var ownerConfiguration = try DatabaseURL(ownerURL, variable: "PIXECOM_DATABASE_OWNER_URL").clientConfiguration
        ownerConfiguration.options.maximumConnections = 1
        let owner = PostgresClient(configuration: ownerConfiguration, backgroundLogger: logger)
        let runtimeRole = try DatabaseURL(runtimeURL, variable: "PIXECOM_DATABASE_URL").username
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await owner.run() }
            defer { group.cancelAll() }
            let migrator = Migrator(directory: migrations, logger: logger)
            try await migrator.run(on: owner)
            try await migrator.grant(to: runtimeRole, on: owner)
        }
    }

    func run() async throws {
        let logger = self.context.logger
        let configuration = self.context.configuration
        if let migrations, let ownerURL = configuration.databaseOwnerURL, let runtimeURL = configuration.databaseURL {
            try await Self.migrate(migrations, ownerURL: ownerURL, runtimeURL: runtimeURL, logger: logger)
        }
        let setup = try await self.setup(self.context)
        let uncovered = setup.access.uncovered(setup.router.methods)
        guard uncovered.isEmpty else {
            throw AccessPolicyError(service: self.context.name, uncoveredMethods: uncovered)
        }
        var serverConfiguration = RPCServerConfiguration(host: configuration.rpcHost, port: configuration.rpcPort)
        serverConfiguration.interceptors = [
            TracingServerInterceptor(), LoggingServerInterceptor(), MetricsServerInterceptor(),
            AccessControlInterceptor(policy: setup.access, verifier: setup.verifier),
        ]
        let server = try await RPCServer.bind(
            configuration: serverConfiguration,
            tls: try RPCTLS.serverContext(configuration.tls),
            router: setup.router,
            logger: logger
        )
        var readiness = setup.readiness
        if let database = self.context.database {
            readiness["database"] = {
                try await database.query("SELECT 1", logger: logger)
            }
        }
        let rpcPort = server.localPort
        let admin = AdminServer.application(
            host: configuration.adminHost,
            port: configuration.adminPort,
            registry: self.registry,
            readiness: readiness,
            logger: logger
        ) { adminPort in
            if let path = configuration.readyFile {
                do {
                    try ServiceRuntime.writeReadyFile(path, ["rpc_port": rpcPort, "admin_port": adminPort])
                } catch {
                    logger.error("ready_file.failed", metadata: ["error": "\(error)"])
                }
            }
            logger.info("service.ready", metadata: ["rpc.port": "\(rpcPort)", "admin.port": "\(adminPort)"])
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.run()
                } onGracefulShutdown: {
                    server.beginGracefulShutdown()
                }
            }
            group.addTask { try await admin.runService() }
            for service in setup.services {
                group.addTask { try await service.run() }
            }
            // Health checks stop at shutdown; the clients stay open for the calls still being
            // served and close once the server has drained.
            let clients = ClientMaintenance(clients: self.context.clients.all, closesClients: false)
            group.addTask { try await clients.run() }
        }
        for client in self.context.clients.all { await client.close() }
    }
}

/// A service's access policy leaves methods without a rule: a programming error, caught at start.
struct AccessPolicyError: Error, CustomStringConvertible {
    let service: String
    let uncoveredMethods: [String]

    var description: String {
        "the access policy of \(self.service) has no rule for \(self.uncoveredMethods.joined(separator: ", "))"
    }
}
