import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import Prometheus
import RPCKit
import ServiceLifecycle

/// The common runtime of every RPC service: configuration, database pool, migrations, the
/// mutual-TLS RPC server, the admin port, the ready file and graceful shutdown, all parts of one
/// `ServiceGroup` (`ProcessServices` gives their order).
///
/// `run(_:host:)` runs a service until graceful shutdown, in a process of its own or beside others
/// in a test; it returns or throws, never exits. Only an executable's `main` turns the outcome into
/// an exit status (`main(_:)`, `exitStatus(logger:_:)`).
public enum ServiceRuntime {
    /// An executable's whole life: runs `definition` in this process until SIGTERM or SIGINT and
    /// returns the exit status: 0 after a clean shutdown, 2 for a configuration error, 1 for any
    /// other failure.
    public static func main(_ definition: ServiceDefinition) async -> Int32 {
        let host = RuntimeHost.process(name: definition.name)
        return await Self.exitStatus(logger: host.logger) {
            try await Self.run(definition, host: host)
        }
    }

    /// Runs `body` and maps its outcome to an exit status, logging a failure: 0 when it returns,
    /// 2 for a `ConfigurationError` (it names the variable), 1 for anything else.
    public static func exitStatus(
        isolation: isolated (any Actor)? = #isolation,
        logger: Logger,
        _ body: () async throws -> Void
    ) async -> Int32 {
        do {
            try await body()
            logger.info("service.stopped")
            return 0
        } catch let error as ConfigurationError {
            logger.critical("config.invalid", metadata: ["config.variable": "\(error.variable)", "error": "\(error)"])
            return 2
        } catch {
            logger.critical("service.failed", metadata: ["error": "\(String(reflecting: error))"])
            return 1
        }
    }

    /// Runs a service until graceful shutdown: reads its configuration from `host.environment`,
    /// starts the database pool, applies the migrations, calls the definition's setup, then runs
    /// the clients' maintenance, the background services, the admin server and the RPC server.
    /// Throws a `ConfigurationError` for a bad setting, or whatever else stopped it.
    public static func run(_ definition: ServiceDefinition, host: RuntimeHost) async throws {
        let logger = host.logger
        let configuration = try ServiceConfiguration(
            environment: host.environment,
            defaultRPCPort: definition.defaultRPCPort,
            defaultAdminPort: definition.defaultAdminPort,
            needsDatabase: definition.migrations != nil
        )
        let database = try configuration.databaseURL.map {
            PostgresClient(
                configuration: try DatabaseURL($0, variable: "PIXECOM_DATABASE_URL").clientConfiguration, backgroundLogger: logger)
        }
        let context = RuntimeContext(
            name: definition.name,
            configuration: configuration,
            environment: host.environment,
            logger: logger,
            database: database,
            clientTLS: try RPCTLS.clientContext(configuration.tls),
            clients: ClientRegistry()
        )
        try await ProcessServices.run(database: database, host: host) {
            try await Self.start(definition, context: context, host: host)
        }
    }

    /// Migrations and setup, with the pool running; returns the parts that serve.
    private static func start(_ definition: ServiceDefinition, context: RuntimeContext, host: RuntimeHost) async throws -> ProcessServices {
        let configuration = context.configuration
        let logger = context.logger
        if let migrations = definition.migrations, let ownerURL = configuration.databaseOwnerURL,
            let runtimeURL = configuration.databaseURL
        {
            try await Self.migrate(migrations, ownerURL: ownerURL, runtimeURL: runtimeURL, logger: logger)
        }
        let setup = try await definition.setup(context)
        let uncovered = setup.access.uncovered(setup.router.methods)
        guard uncovered.isEmpty else {
            throw AccessPolicyError(service: definition.name, uncoveredMethods: uncovered)
        }
        var serverConfiguration = RPCServerConfiguration(host: configuration.rpcHost, port: configuration.rpcPort)
        serverConfiguration.interceptors = [
            TracingServerInterceptor(), LoggingServerInterceptor(), MetricsServerInterceptor(),
            AccessControlInterceptor(policy: setup.access, verifier: setup.verifier),
        ]
        var readiness = setup.readiness
        if let database = context.database {
            readiness["database"] = {
                try await database.query("SELECT 1", logger: logger)
            }
        }
        let ports = ReadyPorts(expected: ["rpc_port", "admin_port"], file: configuration.readyFile, host: host)
        let server = RPCServerService(
            configuration: serverConfiguration,
            tls: try RPCTLS.serverContext(configuration.tls),
            router: setup.router,
            logger: logger
        ) { port in
            ports.record("rpc_port", port)
        }
        let admin = AdminServer.application(
            host: configuration.adminHost,
            port: configuration.adminPort,
            registry: host.metrics,
            readiness: readiness,
            logger: logger
        ) { port in
            ports.record("admin_port", port)
        }
        var background = setup.services.map { $0 as any Service }
        if !setup.jobs.names.isEmpty, let database = context.database {
            let jobs = try JobRunnerConfiguration(environment: context.environment, kinds: setup.jobs)
            background.append(try JobRunner(client: database, kinds: setup.jobs, configuration: jobs, logger: logger))
        }
        return ProcessServices(
            clients: context.clients.all,
            background: background,
            admin: admin,
            front: server
        )
    }

    /// Applies the job queue's migrations, then the service's, as the tables' owner, on a pool of
    /// its own that closes after, and grants the runtime role what it needs.
    static func migrate(_ migrations: URL, ownerURL: String, runtimeURL: String, logger: Logger) async throws {
        var ownerConfiguration = try DatabaseURL(ownerURL, variable: "PIXECOM_DATABASE_OWNER_URL").clientConfiguration
        ownerConfiguration.options.maximumConnections = 1
        let owner = PostgresClient(configuration: ownerConfiguration, backgroundLogger: logger)
        let runtimeRole = try DatabaseURL(runtimeURL, variable: "PIXECOM_DATABASE_URL").username
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await owner.run() }
            defer { group.cancelAll() }
            try await Migrator.jobQueue(logger: logger).run(on: owner)
            let migrator = Migrator(directory: migrations, logger: logger)
            try await migrator.run(on: owner)
            try await migrator.grant(to: runtimeRole, on: owner)
        }
    }

    /// The process's metrics registry, made by the first `bootstrap`.
    private static let bootstrapped = NIOLockedValueBox<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps logging and metrics for the process and returns the metrics registry; once per
    /// process (`LoggingSystem` and `MetricsSystem` allow one bootstrap), later calls return the
    /// first registry. A test running services in its own process does not call it: each of
    /// its services gets its own logger and registry through its `RuntimeHost`.
    ///
    /// Also makes NIO's event loops Swift Concurrency's global executor (unless
    /// `PIXECOM_NIO_EXECUTOR=0`; see `EventLoopGlobalExecutor`): handlers then run on the thread
    /// that did their I/O, instead of hopping to the cooperative pool and back for every request
    /// and every RPC. Nothing in the services blocks a thread (password hashing has its own
    /// pool), which this requires.
    public static func bootstrap(name: String, environment: EnvironmentReader) -> PrometheusCollectorRegistry {
        Self.bootstrapped.withLockedValue { registry in
            if let registry { return registry }
            if environment.string("PIXECOM_NIO_EXECUTOR", default: "1") != "0" {
                _ = EventLoopGlobalExecutor.install()
            }
            let level = Logger.Level(rawValue: environment.string("PIXECOM_LOG_LEVEL", default: "info")) ?? .info
            LoggingSystem.bootstrap { _ in JSONLogHandler(label: name, level: level) }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            registry = made
            return made
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

/// A service's access policy leaves methods without a rule: a programming error, caught at start.
struct AccessPolicyError: Error, CustomStringConvertible {
    let service: String
    let uncoveredMethods: [String]

    var description: String {
        "the access policy of \(self.service) has no rule for \(self.uncoveredMethods.joined(separator: ", "))"
    }
}
