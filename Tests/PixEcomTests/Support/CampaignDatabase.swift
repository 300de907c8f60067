import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// A migrated service database on the test Postgres, for tests that run a service's stores and
/// handlers in-process: the owner applied the migrations (the job queue's first, as the runtime
/// does) and granted the runtime role, which row-level security binds.
struct ServiceDatabase: Sendable {
    let urls: TestDatabase

    /// `service` names the database; `sources` is the folder under Sources/ with its Migrations.
    static func create(service: String, sources: String, jobQueue: Bool) async throws -> ServiceDatabase {
        let urls = try await TestDatabases.create(services: [service])[service]!
        let migrations = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/\(sources)/Migrations")
        let appRole = URLComponents(string: urls.app)?.user ?? ""
        try await TestDatabases.withClient(urls.owner) { owner in
            let logger = Logger(label: "test.migrations")
            var migrators = [Migrator(directory: migrations, logger: logger)]
            if jobQueue { migrators.insert(Migrator.jobQueue(logger: logger), at: 0) }
            for migrator in migrators {
                try await migrator.run(on: owner)
                try await migrator.grant(to: appRole, on: owner)
            }
        }
        return ServiceDatabase(urls: urls)
    }

    /// Runs `body` with a pool of at most `connections` connections as the runtime role.
    func withAppClient<T: Sendable>(connections: Int, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await self.urls.withAppClient(connections: connections, body)
    }
}

/// CampaignService's database, without the job queue (its store tests enqueue nothing).
enum CampaignDatabase {
    static func create() async throws -> ServiceDatabase {
        try await ServiceDatabase.create(service: "campaign", sources: "CampaignService", jobQueue: false)
    }
}
