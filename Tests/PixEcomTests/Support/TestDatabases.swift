import Foundation
import Logging
import PostgresNIO

/// One service's test database, reachable three ways.
struct TestDatabase: Sendable {
    /// The role the service runs as (`PIXECOM_DATABASE_URL`): owns nothing, bound by row-level
    /// security.
    let app: String
    /// The owner of the database and its tables (`PIXECOM_DATABASE_OWNER_URL`): migrations.
    let owner: String
    /// The test cluster's superuser on this database: inspection and setup in tests, which
    /// row-level security does not bind.
    let admin: String

    /// Runs `body` with a pool of at most `connections` connections as the runtime role (the
    /// pool runs only during `body`).
    func withAppClient<T: Sendable>(connections: Int, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        guard let components = URLComponents(string: self.app), let host = components.host else {
            throw TestSetupError("bad database url")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable
        )
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            let result = try await body(client)
            group.cancelAll()
            return result
        }
    }
}

/// Per-test databases on the test Postgres: per service a database, its owner role and the
/// service's runtime role.
enum TestDatabases {
    /// Creates role `<service>_<suffix>` owning database `<service>_<suffix>`, and the runtime
    /// role `<service>_<suffix>_app`, for each service.
    static func create(services: [String]) async throws -> [String: TestDatabase] {
        let admin = try TestEnvironment.adminDatabaseURL()
        guard let components = URLComponents(string: admin), let host = components.host, let user = components.user else {
            throw TestSetupError("PIXECOM_TEST_DATABASE_URL is not a postgres:// URL")
        }
        let port = components.port ?? 5432
        let suffix = UUID().uuidString.prefix(8).lowercased()
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: components.password,
            database: String(components.path.dropFirst()).isEmpty ? "postgres" : String(components.path.dropFirst()),
            tls: .disable
        )
        configuration.options.maximumConnections = 2
        let client = PostgresClient(configuration: configuration)
        var urls: [String: TestDatabase] = [:]
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            for service in services {
                let name = "\(service)_\(suffix)"
                let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
                // Identifiers and the password are generated here (hex and letters only), never input.
                try await client.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(name) LOGIN PASSWORD '\(password)'"))
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(name)"))
                let appPassword = UUID().uuidString.replacingOccurrences(of: "-", with: "")
                try await client.query(
                    PostgresQuery(unsafeSQL: "CREATE ROLE \(name)_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '\(appPassword)'"))
                var adminURL = components
                adminURL.path = "/\(name)"
                urls[service] = TestDatabase(
                    app: "postgres://\(name)_app:\(appPassword)@\(host):\(port)/\(name)",
                    owner: "postgres://\(name):\(password)@\(host):\(port)/\(name)",
                    admin: adminURL.string ?? admin
                )
            }
            group.cancelAll()
        }
        return urls
    }

    /// Runs `body` with a client connected to one of the databases made by `create`.
    static func withClient<T: Sendable>(_ url: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw TestSetupError("bad database url")
        }
        let configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable
        )
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run(); return nil
            }
            let result = try await body(client)
            group.cancelAll()
            return result
        }
    }
}
