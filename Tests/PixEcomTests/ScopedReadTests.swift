import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Testing

/// `PostgresClient.readAsSeller`: one statement that sets the seller and reads, confined by
/// row-level security, leaving nothing behind on the pooled connection.
@Suite("Scoped reads in one round trip")
struct ScopedReadTests {
    static let logger = Logger(label: "test.scoped-read")

    /// Two sellers with two ad accounts each, written through `withSeller` as the runtime role.
    static func seed(_ db: PostgresClient) async throws -> (UUID, UUID) {
        let (first, second) = (UUID(), UUID())
        for seller in [first, second] {
            try await db.withSeller(seller, logger: Self.logger) { connection in
                for index in 0..<2 {
                    try await connection.query(
                        """
                        INSERT INTO ad_accounts (seller_id, id, name, currency, time_zone, platform, external_id)
                        VALUES (\(seller), \(UUID()), \("Account \(index)"), 'USD', 'UTC', 'sandbox', \(UUID().uuidString))
                        """,
                        logger: Self.logger
                    )
                }
            }
        }
        return (first, second)
    }

    @Test("a scoped read sees only its seller's rows, even when the query forgets to filter, in the query's order")
    func confinedAndOrdered() async throws {
        let database = try await CampaignDatabase.create()
        try await database.withAppClient(connections: 1) { db in
            let (first, second) = try await Self.seed(db)
            for seller in [first, second] {
                // No seller filter: row-level security alone confines the read.
                let rows = try await db.readAsSeller(
                    seller, "SELECT seller_id, name FROM ad_accounts ORDER BY name DESC", logger: Self.logger
                ) { try $0.decode((UUID, String).self) }
                #expect(rows.map(\.0) == [seller, seller])
                #expect(rows.map(\.1) == ["Account 1", "Account 0"])
            }
            // The same (only) pooled connection carries no seller afterwards: unscoped, nothing.
            let setting = try await db.query("SELECT coalesce(current_setting('app.seller_id', true), '')", logger: Self.logger)
            for try await value in setting.decode(String.self) { #expect(value == "") }
            let unscoped = try await db.query("SELECT count(*) FROM ad_accounts", logger: Self.logger)
            for try await count in unscoped.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test("a scoped read binds its values: text that looks like SQL is only a value")
    func boundValues() async throws {
        let database = try await CampaignDatabase.create()
        try await database.withAppClient(connections: 1) { db in
            let (first, _) = try await Self.seed(db)
            let hostile = "x' OR true OR name = '"
            let rows = try await db.readAsSeller(
                first, "SELECT name FROM ad_accounts WHERE seller_id = \(first) AND name = \(hostile)", logger: Self.logger
            ) { try $0.decode(String.self) }
            #expect(rows.isEmpty)
        }
    }
}
