import Crypto
import Foundation
import Logging
import PostgresNIO
import RPCKit
import Testing

@testable import CampaignService
@testable import ServiceKit

/// Platform connections and ad accounts: a connection keeps the platform user's access token
/// sealed at rest (AES-256-GCM under numbered keys, bound to its row) and the rotation job
/// re-seals it under a new key; ad accounts come with their pages and pixels, change with a field
/// mask, disconnect softly (history readable, nothing changes) and reconnect under the same id.
@Suite("Platform connections and ad accounts", .serialized)
struct AdAccountConnectionTests {
    typealias Reply = EdgeHTTPClient.Reply

    @Test(
        "through the edge: connect the sandbox, an account with its pages and pixels, updates by mask, a soft disconnect that freezes everything under it, and a reconnect under the same id"
    )
    func connectDisconnectReconnect() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Connect")
            try await AccessControlTests.setPlan(system, sellerID: seller.sellerID, plan: "starter")
            let token = JSONValues.string(
                try await edge.send(.POST, "/v1/auth/login", json: ["email": seller.email, "password": seller.password]).json["accessToken"]
            )

            // A connection: the sandbox signs in a user; the token never comes back.
            let connected = try await edge.send(.POST, "/v1/platform-connections", json: ["platform": "sandbox"], token: token)
            try #require(connected.status == 200, "\(connected.text)")
            let connection = JSONValues.string(connected.json["id"])
            #expect(JSONValues.string(connected.json["externalUserId"]).count == 15, "\(connected.text)")
            #expect(!connected.text.contains("EAAS") && !connected.text.lowercased().contains("token"), "\(connected.text)")
            CampaignShapeTests.expectRefused(
                try await edge.send(
                    .POST, "/v1/platform-connections", json: ["platform": "sandbox", "accessToken": "EAAnotissued"], token: token),
                400, field: "access_token", "a token the platform never issued")
            CampaignShapeTests.expectRefused(
                try await edge.send(.POST, "/v1/platform-connections", json: ["platform": "meta"], token: token), 400, field: "platform",
                "a platform this deployment does not connect to")
            let listed = try await edge.send(.GET, "/v1/platform-connections", token: token)
            #expect(listed.status == 200 && (listed.json["connections"] as? [Any])?.count == 1, "\(listed.text)")

            // An account through it, with a page and its pixel as the defaults.
            let created = try await edge.send(
                .POST, "/v1/ad-accounts",
                json: ["name": "Main", "currency": "USD", "timeZone": "America/New_York", "connectionId": connection],
                token: token)
            try #require(created.status == 200, "\(created.text)")
            let account = JSONValues.string(created.json["id"])
            let external = JSONValues.string(created.json["externalId"])
            #expect(
                JSONValues.string(created.json["status"]) == "CONNECTED" && JSONValues.string(created.json["connectionId"]) == connection)
            let pages = try #require(created.json["pages"] as? [[String: Any]], "\(created.text)")
            let page = JSONValues.string(pages.first?["id"])
            let pixel = JSONValues.string((pages.first?["pixels"] as? [[String: Any]])?.first?["id"])
            #expect(pages.count == 1 && page.count == 15 && pixel.count == 16, "\(created.text)")
            #expect(JSONValues.string(created.json["defaultPageId"]) == page && JSONValues.string(created.json["defaultPixelId"]) == pixel)

            // Updates by mask: each refusal names its field; currency and time zone never change.
            CampaignShapeTests.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-accounts/\(account)", json: ["defaultPixelId": "1234567890123456"], token: token), 400,
                field: "default_pixel_id", "a pixel that is not the page's")
            CampaignShapeTests.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-accounts/\(account)", json: ["defaultPageId": "not-a-page"], token: token), 400,
                field: "default_page_id", "a malformed page id")
            CampaignShapeTests.expectRefused(
                try await edge.send(.PATCH, "/v1/ad-accounts/\(account)?updateMask=currency", json: ["name": "X"], token: token), 400,
                field: "update_mask", "a field that cannot change")
            let renamed = try await edge.send(.PATCH, "/v1/ad-accounts/\(account)", json: ["name": "Renamed"], token: token)
            #expect(renamed.status == 200 && JSONValues.string(renamed.json["name"]) == "Renamed", "\(renamed.text)")
            #expect(JSONValues.string(renamed.json["defaultPixelId"]) == pixel, "the mask left the defaults alone: \(renamed.text)")
            #expect(
                JSONValues.string(renamed.json["currency"]) == "USD" && JSONValues.string(renamed.json["timeZone"]) == "America/New_York")

            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns", ["adAccountId": account, "name": "C", "objective": "OUTCOME_SALES", "dailyBudget": "1000"],
                token: token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "S", "targeting": ["countries": ["US"]]], token: token)
            let ad = try await EndToEndTests.create(
                edge, "/v1/ads", ["adSetId": adSet, "name": "Ad", "linkUrl": "https://shop.example.com/p"], token: token)

            // A soft disconnect: twice is once; everything stays readable and nothing changes.
            let disconnected = try await edge.send(.POST, "/v1/ad-accounts/\(account)/disconnect", json: [:], token: token)
            #expect(disconnected.status == 200 && JSONValues.string(disconnected.json["status"]) == "DISCONNECTED", "\(disconnected.text)")
            let disconnectTime = JSONValues.string(disconnected.json["disconnectTime"])
            #expect(!disconnectTime.isEmpty)
            let again = try await edge.send(.POST, "/v1/ad-accounts/\(account)/disconnect", json: [:], token: token)
            #expect(again.status == 200 && JSONValues.string(again.json["disconnectTime"]) == disconnectTime, "\(again.text)")
            for path in ["/v1/campaigns/\(campaign)", "/v1/ad-sets/\(adSet)", "/v1/ads/\(ad)", "/v1/campaigns?parentId=\(account)"] {
                let read = try await edge.send(.GET, path, token: token)
                #expect(read.status == 200 && read.text.contains(campaign) || read.text.contains(ad), "GET \(path): \(read.text)")
            }
            var refused: [Reply] = []
            refused.append(try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["name": "New"], token: token))
            refused.append(try await edge.send(.PATCH, "/v1/ads/\(ad)", json: ["status": "PAUSED"], token: token))
            refused.append(
                try await edge.send(
                    .POST, "/v1/campaigns",
                    json: ["adAccountId": account, "name": "C2", "objective": "OUTCOME_SALES", "dailyBudget": "1000"],
                    token: token))
            refused.append(
                try await edge.send(
                    .POST, "/v1/ad-sets", json: ["campaignId": campaign, "name": "S2", "targeting": ["countries": ["US"]]], token: token))
            refused.append(try await edge.send(.POST, "/v1/campaigns/\(campaign)/duplicate", json: [:], token: token))
            refused.append(try await edge.send(.PATCH, "/v1/ad-accounts/\(account)", json: ["name": "Again"], token: token))
            for reply in refused {
                #expect(reply.status == 422 && reply.text.contains("disconnected"), "\(reply.status) \(reply.text)")
            }
            let bulk = try await edge.send(
                .POST, "/v1/bulk-updates", json: ["changes": [["kind": "AD", "id": ad, "status": "PAUSED"]]], token: token)
            let result = (bulk.json["results"] as? [[String: Any]])?.first
            #expect(JSONValues.string(result?["code"]) == "FAILED_PRECONDITION", "\(bulk.text)")
            let untouched = try await edge.send(.GET, "/v1/campaigns/\(campaign)", token: token)
            #expect(JSONValues.string(untouched.json["name"]) == "C", "\(untouched.text)")

            // Reconnecting: the platform's currency wins; a second account for it is refused.
            CampaignShapeTests.expectRefused(
                try await edge.send(
                    .POST, "/v1/ad-accounts", json: ["externalId": external, "connectionId": connection, "currency": "EUR"], token: token),
                400, field: "currency", "a currency the platform account does not have")
            let unseen = try await edge.send(.POST, "/v1/ad-accounts", json: ["externalId": "act_123456789012345"], token: token)
            #expect(unseen.status == 404 && unseen.text.contains("external_id"), "an account the user cannot see: \(unseen.text)")
            let reconnected = try await edge.send(
                .POST, "/v1/ad-accounts", json: ["externalId": external, "connectionId": connection], token: token)
            #expect(reconnected.status == 200, "\(reconnected.text)")
            #expect(JSONValues.string(reconnected.json["id"]) == account && JSONValues.string(reconnected.json["status"]) == "CONNECTED")
            #expect(
                JSONValues.string(reconnected.json["name"]) == "Renamed" && JSONValues.string(reconnected.json["disconnectTime"]).isEmpty)
            #expect(JSONValues.string(reconnected.json["defaultPixelId"]) == pixel, "\(reconnected.text)")
            let twice = try await edge.send(
                .POST, "/v1/ad-accounts", json: ["externalId": external, "connectionId": connection], token: token)
            #expect(twice.status == 409, "\(twice.text)")
            let changed = try await edge.send(.PATCH, "/v1/campaigns/\(campaign)", json: ["name": "Back"], token: token)
            #expect(changed.status == 200 && JSONValues.string(changed.json["name"]) == "Back", "\(changed.text)")
            let accounts = try await edge.send(.GET, "/v1/ad-accounts", token: token)
            #expect((accounts.json["adAccounts"] as? [Any])?.count == 1, "one row, reconnected: \(accounts.text)")

            // At rest: the sealed token is not the token, and a role without the key reads nothing.
            let database = try #require(system.databases["campaign"])
            try await TestDatabases.withClient(database.admin) { client in
                let rows = try await client.query("SELECT token_sealed, token_key_version FROM platform_connections")
                var count = 0
                for try await (sealed, version) in rows.decode((Data, Int).self) {
                    count += 1
                    #expect(version == 1 && sealed.count >= 12 + 52 + 16, "nonce, a 52-byte sandbox token, tag: \(sealed.count)")
                    #expect(sealed.range(of: Data("EAAS".utf8)) == nil, "the token's prefix shows in the sealed bytes")
                }
                #expect(count == 1)
            }
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test(
        "plan limits count live objects (a disconnected account, deleted campaigns and ads free their places), ads per ad set are limited, and the owner changes the plan"
    )
    func planLimitsCountLiveObjects() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Live")
            let token = seller.token
            let body: [String: Any] = ["name": "First", "currency": "USD", "timeZone": "UTC"]
            let first = try await edge.send(.POST, "/v1/ad-accounts", json: body, token: token)
            try #require(first.status == 200, "\(first.text)")
            let firstID = JSONValues.string(first.json["id"])
            let external = JSONValues.string(first.json["externalId"])
            let full = try await edge.send(.POST, "/v1/ad-accounts", json: body, token: token)
            #expect(full.status == 422 && full.text.contains("free plan allows 1 ad account"), "\(full.text)")
            _ = try await edge.send(.POST, "/v1/ad-accounts/\(firstID)/disconnect", json: [:], token: token)
            let second = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "Second", "currency": "EUR", "timeZone": "UTC"], token: token)
            let back = try await edge.send(.POST, "/v1/ad-accounts", json: ["externalId": external], token: token)
            #expect(back.status == 422 && back.text.contains("free plan allows 1 ad account"), "reconnecting needs room too: \(back.text)")

            let campaign: [String: Any] = ["adAccountId": second, "name": "C", "objective": "OUTCOME_SALES", "dailyBudget": "1000"]
            var campaigns: [String] = []
            for _ in 0..<10 { campaigns.append(try await EndToEndTests.create(edge, "/v1/campaigns", campaign, token: token)) }
            let eleventh = try await edge.send(.POST, "/v1/campaigns", json: campaign, token: token)
            #expect(eleventh.status == 422 && eleventh.text.contains("allows 10 campaigns"), "\(eleventh.text)")
            let deleted = try await edge.send(.PATCH, "/v1/campaigns/\(campaigns[0])", json: ["status": "DELETED"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let replaced = try await edge.send(.POST, "/v1/campaigns", json: campaign, token: token)
            #expect(replaced.status == 200, "a deleted campaign freed its place: \(replaced.text)")

            // Ads per ad set: 10 on the free plan, deleted ones not counted, the wizard held to it too.
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaigns[1], "name": "S", "targeting": ["countries": ["US"]]], token: token)
            let adBody: [String: Any] = ["adSetId": adSet, "name": "Ad", "linkUrl": "https://shop.example.com/p"]
            var ads: [String] = []
            for _ in 0..<10 { ads.append(try await EndToEndTests.create(edge, "/v1/ads", adBody, token: token)) }
            let overAds = try await edge.send(.POST, "/v1/ads", json: adBody, token: token)
            #expect(overAds.status == 422 && overAds.text.contains("allows 10 ads per ad set"), "\(overAds.text)")
            _ = try await edge.send(.PATCH, "/v1/ads/\(ads[0])", json: ["status": "DELETED"], token: token)
            #expect(try await edge.send(.POST, "/v1/ads", json: adBody, token: token).status == 200, "a deleted ad freed its place")
            let bigTree: [String: Any] = [
                "campaign": ["adAccountId": second, "name": "Tree", "objective": "OUTCOME_SALES", "dailyBudget": "1000"],
                "adSets": [
                    [
                        "adSet": ["name": "S", "targeting": ["countries": ["US"]]],
                        "ads": (0..<11).map { ["name": "Ad \($0)", "linkUrl": "https://shop.example.com/\($0)"] },
                    ]
                ],
                "dryRun": true,
            ]
            let tree = try await edge.send(.POST, "/v1/campaign-trees", json: bigTree, token: token)
            #expect(tree.status == 422 && tree.text.contains("ad_sets[0].ads") && tree.text.contains("10 ads per ad set"), "\(tree.text)")

            // The owner changes the plan; the new limits come with the next access token.
            CampaignShapeTests.expectRefused(
                try await edge.send(.PUT, "/v1/account/plan", json: ["plan": "gold"], token: token), 400, field: "plan", "an unknown plan")
            let upgraded = try await edge.send(.PUT, "/v1/account/plan", json: ["plan": "starter"], token: token)
            #expect(upgraded.status == 200, "\(upgraded.text)")
            #expect(JSONValues.string(upgraded.json["plan"]) == "starter" && JSONValues.string(upgraded.json["previousPlan"]) == "free")
            #expect(JSONValues.int64((upgraded.json["limits"] as? [String: Any])?["adsPerAdSet"]) == 50, "\(upgraded.text)")
            #expect(try await edge.send(.POST, "/v1/ads", json: adBody, token: token).status == 422, "the old token keeps the old plan")
            let login = try await edge.send(.POST, "/v1/auth/login", json: ["email": seller.email, "password": seller.password])
            let upgradedToken = JSONValues.string(login.json["accessToken"])
            let account = try await edge.send(.GET, "/v1/account", token: upgradedToken)
            #expect(JSONValues.string(account.json["plan"]) == "starter", "\(account.text)")
            #expect(try await edge.send(.POST, "/v1/ads", json: adBody, token: upgradedToken).status == 200, "room on the starter plan")
            let audit = try await edge.send(.GET, "/v1/audit-events", token: upgradedToken)
            #expect(audit.text.contains("plan.changed"), "\(audit.text.prefix(600))")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test(
        "tokens are sealed under the newest key and bound to their row; the rotation job re-seals every one under a new key, skipping one that does not open"
    )
    func tokenSealingAndRotation() async throws {
        let database = try await CampaignDatabase.create()
        let logger = Logger(label: "test.platform-tokens")
        let first = SymmetricKey(size: .bits256)
        let second = SymmetricKey(size: .bits256)
        let old = try PlatformTokenVault(parsing: PlatformTokenVault.text([(1, first)]))
        let both = try PlatformTokenVault(parsing: PlatformTokenVault.text([(1, first), (2, second)]) + "\n")
        let newOnly = try PlatformTokenVault(keys: [2: second])
        #expect(both.currentVersion == 2)

        // Configuration errors name the variable and the entry.
        for bad in [
            "", "x:abc", "0:\(Data(count: 32).base64EncodedString())", "1:c2hvcnQ=",
            "1:\(Data(count: 32).base64EncodedString()),1:\(Data(count: 32).base64EncodedString())",
        ] {
            #expect(throws: ConfigurationError.self, "\"\(bad)\"") { try PlatformTokenVault(parsing: bad) }
        }

        try await database.withAppClient(connections: 4) { db in
            let sellers = [UUID(), UUID(), UUID()]
            let store = PlatformConnectionStore(db: db, vault: old)
            var connections: [(seller: UUID, id: UUID, token: String)] = []
            for (index, seller) in sellers.enumerated() {
                for user in 0..<2 {
                    let token = "EAAStoken-\(index)-\(user)-\(UUID().uuidString)"
                    let saved = try await store.save(
                        PlatformGrant(userID: "10000000000000\(index)\(user)", accessToken: token), platform: "sandbox", sellerID: seller,
                        logger: logger)
                    connections.append((seller, saved.id, token))
                }
            }
            // Saving the same user again replaces its token, in the same row.
            let renewed = "EAAStoken-renewed-\(UUID().uuidString)"
            let again = try await store.save(
                PlatformGrant(userID: "1000000000000000", accessToken: renewed), platform: "sandbox", sellerID: sellers[0], logger: logger)
            #expect(again.id == connections[0].id)
            connections[0].token = renewed
            let saved = connections

            // Sealed at rest: no token appears in the table; each opens for its own row only.
            try await TestDatabases.withClient(database.urls.admin) { admin in
                let rows = try await admin.query("SELECT seller_id, id, token_sealed, token_key_version FROM platform_connections")
                for try await (seller, id, sealed, version) in rows.decode((UUID, UUID, Data, Int).self) {
                    let token = try #require(saved.first { $0.id == id }?.token)
                    #expect(version == 1 && sealed.range(of: Data(token.utf8)) == nil)
                    let box = SealedToken(bytes: sealed, keyVersion: version)
                    #expect(try old.open(box, sellerID: seller, connectionID: id) == token)
                    #expect(throws: RPCError.self) { try old.open(box, sellerID: seller, connectionID: UUID()) }
                    #expect(throws: RPCError.self) { try old.open(box, sellerID: UUID(), connectionID: id) }
                    #expect(throws: RPCError.self) { try newOnly.open(box, sellerID: seller, connectionID: id) }
                }
                // One row sealed under a key no vault lists: the rotation must go past it.
                try await admin.query(
                    """
                    INSERT INTO platform_connections (seller_id, id, platform, external_user_id, token_sealed, token_key_version)
                    VALUES (\(sellers[2]), gen_random_uuid(), 'sandbox', 'lost', decode(repeat('ab', 40), 'hex'), 9)
                    """)
            }

            // The job's pass, in batches of 2 here to cross batch boundaries.
            let rotation = PlatformTokenRotation(store: PlatformConnectionStore(db: db, vault: both))
            var cursor: ResealCursor?
            var resealed = 0
            var unreadable: [UUID] = []
            while true {
                let batch = try await rotation.store.resealBatch(after: cursor, limit: 2, logger: logger)
                resealed += batch.resealed
                unreadable += batch.unreadable
                guard batch.fetched == 2, let last = batch.last else { break }
                cursor = last
            }
            #expect(resealed == 6 && unreadable.count == 1, "resealed \(resealed), unreadable \(unreadable)")
            #expect(try await rotation.store.keyVersionCounts(logger: logger) == [2: 6, 9: 1])
            let nothingLeft = try await rotation.resealAll(logger: logger)
            #expect(nothingLeft.resealed == 0 && nothingLeft.unreadable.count == 1)

            // With the old key gone, every token still opens.
            let current = PlatformConnectionStore(db: db, vault: newOnly)
            for connection in connections {
                let (_, grant) = try await current.grant(connection.id, sellerID: connection.seller, logger: logger)
                #expect(grant.accessToken == connection.token)
            }
            // Another seller's connection is not found.
            await #expect(throws: RPCError.self) { try await current.grant(connections[0].id, sellerID: sellers[1], logger: logger) }
        }
    }
}

/// Upgrading a database that holds data: migrations run as the owner under FORCE ROW LEVEL
/// SECURITY, so a backfill must lift the policy or it sees no row.
@Suite("Migrations over existing data")
struct MigrationUpgradeTests {
    /// A copy of `service`'s migrations numbered below `before`, in a temporary folder.
    static func migrations(of service: String, before: String) throws -> (all: URL, early: URL) {
        let all = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/\(service)/Migrations")
        let early = FileManager.default.temporaryDirectory.appendingPathComponent("pixecom-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: early, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: all.path) where name < before {
            try FileManager.default.copyItem(at: all.appendingPathComponent(name), to: early.appendingPathComponent(name))
        }
        return (all, early)
    }

    @Test("OrderService's upgrade gives every seller's undelivered outbox event a delivery job, once")
    func ordersOutboxEventsGetTheirJobs() async throws {
        let urls = try await TestDatabases.create(services: ["orders"])["orders"]!
        let (all, early) = try Self.migrations(of: "OrderService", before: "0006")
        defer { try? FileManager.default.removeItem(at: early) }
        let logger = Logger(label: "test.migrations")
        let pending = [UUID(), UUID()]
        try await TestDatabases.withClient(urls.owner) { owner in
            try await Migrator.jobQueue(logger: logger).run(on: owner)
            try await Migrator(directory: early, logger: logger).run(on: owner)
            // An undelivered event of each of two sellers, and a delivered one.
            for (index, seller) in [UUID(), UUID(), UUID()].enumerated() {
                try await owner.withSeller(seller, logger: logger) { connection in
                    let id = index < 2 ? pending[index] : UUID()
                    let delivered: Date? = index < 2 ? nil : Date()
                    try await connection.query(
                        "INSERT INTO outbox (id, seller_id, topic, payload, delivered_at) VALUES (\(id), \(seller), 'order.paid', '\\x00'::bytea, \(delivered))",
                        logger: logger)
                }
            }
            try await Migrator(directory: all, logger: logger).run(on: owner)
        }
        try await TestDatabases.withClient(urls.admin) { admin in
            let rows = try await admin.query("SELECT lower(args->>'eventID') FROM jobs WHERE kind = 'outbox.deliver' ORDER BY 1")
            var events: [String] = []
            for try await id in rows.decode(String.self) { events.append(id) }
            #expect(events == pending.map(\.wireText).sorted(), "one job per undelivered event: \(events)")
        }
    }

    @Test("CampaignService's migrations upgrade a database whose ad sets predate start_time: the backfill reaches every seller's rows")
    func campaignBackfillSeesEverySeller() async throws {
        let urls = try await TestDatabases.create(services: ["campaign"])["campaign"]!
        let (all, early) = try Self.migrations(of: "CampaignService", before: "0005")
        defer { try? FileManager.default.removeItem(at: early) }
        let logger = Logger(label: "test.migrations")
        let sellers = [UUID(), UUID()]
        try await TestDatabases.withClient(urls.owner) { owner in
            try await Migrator(directory: early, logger: logger).run(on: owner)
            // An ad account, a campaign and an ad set for each of two sellers, as the service wrote them then.
            for seller in sellers {
                try await owner.withSeller(seller, logger: logger) { connection in
                    let (account, campaign) = (UUID(), UUID())
                    try await connection.query(
                        """
                        INSERT INTO ad_accounts (seller_id, id, name, currency, time_zone, platform, external_id)
                        VALUES (\(seller), \(account), 'A', 'USD', 'UTC', 'sandbox', \("act_\(UInt64.random(in: 100_000...999_999))"))
                        """, logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO campaigns (seller_id, id, ad_account_id, name, objective, status, daily_budget, external_id)
                        VALUES (\(seller), \(campaign), \(account), 'C', 'OUTCOME_SALES', 'PAUSED', 1000, '1')
                        """, logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO ad_sets (seller_id, id, campaign_id, name, status, daily_budget, external_id)
                        VALUES (\(seller), gen_random_uuid(), \(campaign), 'S', 'PAUSED', 500, '2')
                        """, logger: logger)
                }
            }
            let applied = try await Migrator(directory: all, logger: logger).run(on: owner)
            #expect(applied.contains("0005_meta_shaped_objects.sql") && applied.contains("0009_platform_connections.sql"), "\(applied)")
        }
        try await TestDatabases.withClient(urls.admin) { admin in
            let rows = try await admin.query("SELECT count(*) FILTER (WHERE start_time = created_at), count(*) FROM ad_sets")
            for try await (backfilled, total) in rows.decode((Int, Int).self) {
                #expect(total == 2 && backfilled == 2, "\(backfilled) of \(total) ad sets got their start time")
            }
            let forced = try await admin.query(
                "SELECT bool_and(relforcerowsecurity) FROM pg_class WHERE relname IN ('ad_sets', 'ad_accounts', 'platform_connections')")
            for try await all in forced.decode(Bool.self) { #expect(all, "the policies are forced again") }
        }
    }
}
