import Foundation

/// What one RPC service is, for the runtime: its name, default ports, migrations and the setup
/// that builds its handlers. Each service's `main` passes its definition to
/// `ServiceRuntime.main`; a test runs the same definition in its own process with
/// `ServiceRuntime.run(_:host:)`.
public struct ServiceDefinition: Sendable {
    public typealias Setup = @Sendable (RuntimeContext) async throws -> ServiceSetup

    /// The service's name in logs, in its certificate and in its contract (`auth`, `orders`).
    public var name: String
    /// Ports used when `PIXECOM_RPC_PORT` / `PIXECOM_ADMIN_PORT` are not set.
    public var defaultRPCPort: Int
    public var defaultAdminPort: Int
    /// The folder of numbered `.sql` migrations; nil for a service without a database.
    public var migrations: URL?
    /// Called once, after the migrations, with the database pool running; returns the router,
    /// the access policy and the background services.
    public var setup: Setup

    public init(name: String, defaultRPCPort: Int, defaultAdminPort: Int, migrations: URL?, setup: @escaping Setup) {
        self.name = name
        self.defaultRPCPort = defaultRPCPort
        self.defaultAdminPort = defaultAdminPort
        self.migrations = migrations
        self.setup = setup
    }
}
