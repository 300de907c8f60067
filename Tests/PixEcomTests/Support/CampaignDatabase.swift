import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// A migrated CampaignService database on the test Postgres, for tests that run the service's
/// stores and handlers in-process: the owner applied the migrations and granted the runtime role,
/// which row-level security binds.
struct CampaignDatabase: Sendable {
    let urls: TestDatabase

    static func create() async throws -> CampaignDatabase {
        let urls = try await TestDatabases.create(services: ["campaign"])["campaign"]!
        let migrations = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CampaignService/Migrations")
        let appRole = URLComponents(string: urls.app)?.user ?? ""
        try await TestDatabases.withClient(urls.owner) { owner in
            let migrator = Migrator(directory: migrations, logger: Logger(label: "test.migrations"))
            try await migrator.run(on: owner)
            try await migrator.grant(to: appRole, on: owner)
        }
        return CampaignDatabase(urls: urls)
    }

    /// Runs `body` with a pool of at most `connections` connections as the runtime role.
    func withAppClient<T: Sendable>(connections: Int, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await self.urls.withAppClient(connections: connections, body)
    }
}
