import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// A stand-in for Meta's Marketing API that keeps its objects in this service's database
/// (`sandbox_objects`), each call in its own short transaction, as a remote platform commits on
/// its side independently of the service's.
///
/// It mints Meta-shaped ids (`act_` + 15 digits for ad accounts, 18 digits for the rest) and
/// refuses what Meta refuses: unknown objectives, non-positive budgets, statuses other than
/// ACTIVE/PAUSED at creation, parents of the wrong kind, another seller's or a deleted or archived
/// parent, and status changes out of DELETED or ARCHIVED. Deleting an object deletes its subtree.
struct SandboxAdPlatform: AdPlatform {
    let name = "sandbox"
    let signsInWithoutToken = true
    /// Budget changes each ad set may take in an hour: Meta's 4, unless a test needs more.
    var budgetChangesPerHour = 4

    /// Minting retries on an id collision (one in ~10^15 per pair; a few tries is plenty).
    private static let mintAttempts = 5

    // MARK: - Users and ad accounts

    /// An empty token signs in a new sandbox user and issues its token ("EAAS" + 48 characters;
    /// the sandbox keeps only its SHA-256). Any other token must be one it issued this seller.
    func connect(accessToken: String, call: AdPlatformCall) async throws -> PlatformGrant {
        if accessToken.isEmpty {
            let grant = PlatformGrant(userID: SandboxObjectKind.mintDigits(15), accessToken: Self.mintToken())
            try await self.transaction(call) { connection in
                try await connection.query(
                    """
                    INSERT INTO sandbox_tokens (seller_id, token_sha256, user_id)
                    VALUES (\(call.sellerID), \(Self.digest(grant.accessToken)), \(grant.userID))
                    """,
                    logger: call.logger
                )
            }
            call.logger.debug("sandbox.user_signed_in", metadata: ["sandbox.user_id": "\(grant.userID)"])
            return grant
        }
        return PlatformGrant(userID: try await self.user(of: accessToken, call: call), accessToken: accessToken)
    }

    func createAdAccount(_ spec: AdAccountSpec, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        try Self.require(
            spec.currency.count == 3 && spec.currency.allSatisfy { $0.isASCII && $0.isUppercase }, "currency", "must be an ISO 4217 code")
        try Self.require(TimeZone(identifier: spec.timeZone) != nil, "time_zone", "is not a time zone")
        try await self.requireGrant(owner, call: call)
        let json = try Self.encode(spec)
        // A new account comes with one page and its pixel, as a new Business Manager's does.
        return try await self.transaction(call) { connection in
            let accountID = try await self.insert(
                .adAccount, parent: nil, name: spec.name, status: .active, json: json, owner: owner.userID, call: call,
                on: connection, checkParent: { _ in })
            let pageName = "\(spec.name) Page"
            let pageID = try await self.insert(
                .page, parent: accountID, name: pageName, status: .active, json: "{}", call: call, on: connection, checkParent: { _ in })
            let pixelName = "\(spec.name) Pixel"
            let pixelID = try await self.insert(
                .pixel, parent: pageID, name: pixelName, status: .active, json: "{}", call: call, on: connection, checkParent: { _ in })
            return PlatformAdAccount(
                externalID: accountID, name: spec.name, currency: spec.currency, timeZone: spec.timeZone,
                pages: [PlatformPage(id: pageID, name: pageName, pixels: [PlatformPixel(id: pixelID, name: pixelName)])])
        }
    }

    func adAccount(_ externalID: String, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount {
        try await self.requireGrant(owner, call: call)
        return try await self.transaction(call) { connection in
            let rows = try await connection.query(
                """
                SELECT name, coalesce(payload->>'currency', ''), coalesce(payload->>'time_zone', '') FROM sandbox_objects
                WHERE seller_id = \(call.sellerID) AND external_id = \(externalID) AND kind = 'ad_account'
                  AND owner_user_id = \(owner.userID)
                """,
                logger: call.logger
            )
            var found: PlatformAdAccount?
            for try await (name, currency, timeZone) in rows.decode((String, String, String).self) {
                found = PlatformAdAccount(externalID: externalID, name: name, currency: currency, timeZone: timeZone, pages: [])
            }
            // Meta's answer for an id the user cannot see, whether or not it exists.
            guard var account = found else {
                throw AdPlatformError.graph(
                    .objectNotFound,
                    "Object with ID '\(externalID)' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
                    field: "external_id")
            }
            let pages = try await connection.query(
                """
                SELECT page.external_id, page.name, pixel.external_id, pixel.name
                FROM sandbox_objects page
                LEFT JOIN sandbox_objects pixel
                  ON pixel.seller_id = page.seller_id AND pixel.parent_external_id = page.external_id AND pixel.kind = 'pixel'
                WHERE page.seller_id = \(call.sellerID) AND page.parent_external_id = \(externalID) AND page.kind = 'page'
                ORDER BY page.created_at, page.external_id, pixel.created_at, pixel.external_id
                """,
                logger: call.logger
            )
            for try await (pageID, pageName, pixelID, pixelName) in pages.decode((String, String, String?, String?).self) {
                if account.pages.last?.id != pageID {
                    account.pages.append(PlatformPage(id: pageID, name: pageName, pixels: []))
                }
                if let pixelID, let pixelName {
                    account.pages[account.pages.count - 1].pixels.append(PlatformPixel(id: pixelID, name: pixelName))
                }
            }
            return account
        }
    }

    /// The user a token was issued to; `invalidToken` (Meta's code 190) for any other token.
    private func user(of accessToken: String, call: AdPlatformCall) async throws -> String {
        guard accessToken.utf8.count <= 1024 else {
            throw AdPlatformError.graph(.invalidToken, "Invalid OAuth access token - Cannot parse access token", field: "access_token")
        }
        let users = try await call.db.readAsSeller(
            call.sellerID,
            "SELECT user_id FROM sandbox_tokens WHERE seller_id = \(call.sellerID) AND token_sha256 = \(Self.digest(accessToken))",
            logger: call.logger
        ) { try $0.decode(String.self) }
        guard let user = users.first else {
            throw AdPlatformError.graph(.invalidToken, "Invalid OAuth access token - Cannot parse access token", field: "access_token")
        }
        return user
    }

    private func requireGrant(_ grant: PlatformGrant, call: AdPlatformCall) async throws {
        guard try await self.user(of: grant.accessToken, call: call) == grant.userID else {
            throw AdPlatformError.graph(
                .invalidToken, "Error validating access token: the token belongs to another user", field: "access_token")
        }
    }

    private static func mintToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return "EAAS" + String((0..<48).map { _ in alphabet.randomElement(using: &generator)! })
    }

    private static func digest(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    // MARK: - Campaigns, ad sets and ads

    func createCampaign(_ spec: CampaignSpec, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        try Self.require(CampaignValidation.objectives.contains(spec.objective), "objective", "is not a valid objective")
        try Self.require(spec.dailyBudget == nil || spec.lifetimeBudget == nil, "lifetime_budget", "cannot be set with daily_budget")
        try Self.requireBudgets(daily: spec.dailyBudget, lifetime: spec.lifetimeBudget)
        try Self.require(CampaignValidation.bidStrategies.contains(spec.bidStrategy), "bid_strategy", "is not a valid bid strategy")
        try Self.require(
            spec.specialAdCategories.allSatisfy(CampaignValidation.specialAdCategories.contains), "special_ad_categories",
            "contains an unknown category")
        try Self.requireInitial(spec.status)
        return try await self.insert(.campaign, parent: accountID, name: spec.name, status: spec.status, payload: spec, call: call)
    }

    func createAdSet(_ spec: AdSetSpec, inCampaign campaignID: String, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        try Self.require(spec.dailyBudget == nil || spec.lifetimeBudget == nil, "lifetime_budget", "cannot be set with daily_budget")
        try Self.requireBudgets(daily: spec.dailyBudget, lifetime: spec.lifetimeBudget)
        try Self.require(!spec.targeting.countries.isEmpty, "targeting", "must include geo_locations")
        try Self.require(
            (18...65).contains(spec.targeting.ageMin) && (spec.targeting.ageMin...65).contains(spec.targeting.ageMax), "targeting",
            "ages must lie within 18-65")
        try Self.require(spec.endTime.map { $0 > spec.startTime } ?? true, "end_time", "must be after start_time")
        try Self.requireInitial(spec.status)
        // Meta: a campaign budget leaves none to its ad sets; without one, each ad set has its own.
        return try await self.insert(.adSet, parent: campaignID, name: spec.name, status: spec.status, payload: spec, call: call) {
            parent in
            let campaignBudget = parent.contains("daily_budget") || parent.contains("lifetime_budget")
            let ownBudget = spec.dailyBudget != nil || spec.lifetimeBudget != nil
            try Self.require(
                campaignBudget != ownBudget, "daily_budget", campaignBudget ? "must not be set under a campaign budget" : "is required")
        }
    }

    func createCreative(_ spec: PlatformCreative, inAccount accountID: String, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        let scheme = URLComponents(string: spec.link)?.scheme?.lowercased()
        try Self.require(scheme == "http" || scheme == "https", "object_story_spec", "link must be an http or https URL")
        try Self.require(!spec.imageHashes.isEmpty || !spec.videoHashes.isEmpty, "object_story_spec", "needs an image_hash or a video_id")
        try Self.require(spec.bodies.count <= 5 && spec.titles.count <= 5, "asset_feed_spec", "takes at most 5 bodies and 5 titles")
        return try await self.insert(.creative, parent: accountID, name: spec.name, status: .active, payload: spec, call: call)
    }

    func createAd(_ spec: AdSpec, inAdSet adSetID: String, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        let scheme = URLComponents(string: spec.linkURL)?.scheme?.lowercased()
        try Self.require(scheme == "http" || scheme == "https", "link_url", "must be an http or https URL")
        try Self.requireInitial(spec.status)
        if let creative = spec.platformCreativeID {
            let found = try await self.transaction(call) { connection in
                try await self.lookup(creative, lock: "FOR SHARE", call: call, on: connection)
            }
            guard let found else { throw AdPlatformError.graph(.objectNotFound, "no creative \(creative)") }
            try Self.require(found.kind == .creative, "creative", "\(creative) is a \(found.kind.rawValue), not a creative")
        }
        return try await self.insert(.ad, parent: adSetID, name: spec.name, status: spec.status, payload: spec, call: call)
    }

    func updateSettings(of externalID: String, _ settings: PlatformSettings, call: AdPlatformCall) async throws {
        let json = try Self.encode(settings)
        try await self.transaction(call) { connection in
            try await self.updateSettings(of: externalID, settings, json: json, call: call, on: connection)
        }
    }

    private func updateSettings(
        of externalID: String, _ settings: PlatformSettings, json: String, call: AdPlatformCall, on connection: PostgresConnection
    ) async throws {
        guard let current = try await self.lookup(externalID, lock: "FOR NO KEY UPDATE", call: call, on: connection),
            current.kind.isAdObject
        else {
            throw AdPlatformError.graph(.objectNotFound, "no campaign, ad set or ad \(externalID)")
        }
        guard current.status != .deleted else {
            throw AdPlatformError.graph(.invalidState, "\(externalID) is DELETED")
        }
        if settings.dailyBudget != nil || settings.lifetimeBudget != nil {
            guard current.kind != .ad else { throw AdPlatformError.graph(.invalidParameter, "ads have no budget", field: "daily_budget") }
            try Self.requireBudgets(daily: settings.dailyBudget, lifetime: settings.lifetimeBudget)
            if current.kind == .adSet {
                try await self.countBudgetChange(of: externalID, settings, call: call, on: connection)
            }
        }
        if settings.targeting != nil || settings.bidAmount != nil || settings.endTime != nil || settings.clearsEndTime != nil {
            guard current.kind == .adSet else {
                throw AdPlatformError.graph(.invalidParameter, "only ad sets have targeting, bids and an end time", field: "targeting")
            }
        }
        if settings.linkURL != nil {
            guard current.kind == .ad else { throw AdPlatformError.graph(.invalidParameter, "only ads have a link", field: "link_url") }
        }
        // The payload takes the new values (keys as the platform's JSON spells them); clearing the
        // end time removes the key.
        try await connection.query(
            """
            UPDATE sandbox_objects SET
                name = coalesce(\(settings.name), name),
                payload = CASE WHEN \(settings.clearsEndTime == true) THEN (payload - 'end_time') ELSE payload END
                          || (\(json)::jsonb - 'name' - 'clears_end_time'),
                updated_at = now()
            WHERE seller_id = \(call.sellerID) AND external_id = \(externalID)
            """,
            logger: call.logger
        )
        call.logger.debug("sandbox.settings_changed", metadata: ["sandbox.external_id": "\(externalID)"])
    }

    /// Meta's rule: an ad set's budget changes at most `budgetChangesPerHour` times an hour. A
    /// change to the value it has already (a resend) does not count.
    private func countBudgetChange(
        of externalID: String, _ settings: PlatformSettings, call: AdPlatformCall, on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.query(
            """
            SELECT (payload->>'daily_budget')::bigint, (payload->>'lifetime_budget')::bigint,
                   (SELECT count(*) FROM sandbox_budget_changes b
                    WHERE b.seller_id = o.seller_id AND b.external_id = o.external_id AND b.changed_at > clock_timestamp() - interval '1 hour'),
                   (SELECT extract(epoch FROM min(b.changed_at) + interval '1 hour' - clock_timestamp())::float8
                    FROM sandbox_budget_changes b
                    WHERE b.seller_id = o.seller_id AND b.external_id = o.external_id AND b.changed_at > clock_timestamp() - interval '1 hour')
            FROM sandbox_objects o WHERE o.seller_id = \(call.sellerID) AND o.external_id = \(externalID)
            """,
            logger: call.logger
        )
        for try await (daily, lifetime, recent, wait) in rows.decode((Int64?, Int64?, Int, Double?).self) {
            let changes = (settings.dailyBudget.map { $0 != daily } ?? false) || (settings.lifetimeBudget.map { $0 != lifetime } ?? false)
            guard changes else { return }
            guard recent < self.budgetChangesPerHour else {
                let seconds = max(1, Int((wait ?? 3600).rounded(.up)))
                throw AdPlatformError.graph(
                    .rateLimited,
                    "the budget of ad set \(externalID) changed \(recent) times in the last hour, the most Meta allows; try again in \(seconds) s",
                    field: settings.dailyBudget != nil ? "daily_budget" : "lifetime_budget", retryAfter: .seconds(seconds))
            }
            try await connection.query(
                "INSERT INTO sandbox_budget_changes (seller_id, external_id) VALUES (\(call.sellerID), \(externalID))", logger: call.logger)
        }
    }

    func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall) async throws {
        try await self.transaction(call) { connection in
            try await self.updateStatus(of: externalID, to: status, call: call, on: connection)
        }
    }

    private func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall, on connection: PostgresConnection)
        async throws
    {
        guard let current = try await self.lookup(externalID, lock: "FOR NO KEY UPDATE", call: call, on: connection),
            current.kind.isAdObject
        else {
            throw AdPlatformError.graph(.objectNotFound, "no campaign, ad set or ad \(externalID)")
        }
        guard current.status.allowsChange(to: status) else {
            throw AdPlatformError.graph(.invalidState, "object \(externalID) is \(current.status.rawValue)")
        }
        guard current.status != status else { return }
        if status == .deleted {
            try await connection.query(
                """
                WITH RECURSIVE subtree (external_id) AS (
                    SELECT external_id FROM sandbox_objects WHERE seller_id = \(call.sellerID) AND external_id = \(externalID)
                    UNION ALL
                    SELECT child.external_id FROM sandbox_objects child JOIN subtree ON child.parent_external_id = subtree.external_id
                    WHERE child.seller_id = \(call.sellerID)
                )
                UPDATE sandbox_objects SET status = 'DELETED', updated_at = now()
                WHERE seller_id = \(call.sellerID) AND external_id IN (SELECT external_id FROM subtree) AND status <> 'DELETED'
                """,
                logger: call.logger
            )
        } else {
            try await connection.query(
                """
                UPDATE sandbox_objects SET status = \(status.rawValue), updated_at = now()
                WHERE seller_id = \(call.sellerID) AND external_id = \(externalID)
                """,
                logger: call.logger
            )
        }
        call.logger.debug(
            "sandbox.status_changed", metadata: ["sandbox.external_id": "\(externalID)", "sandbox.status": "\(status.rawValue)"])
    }

    // MARK: - Storage

    private func insert(
        _ kind: SandboxObjectKind,
        parent: String?,
        name: String,
        status: AdObjectStatus,
        payload: some Encodable,
        call: AdPlatformCall,
        checkParent: @Sendable (_ payloadKeys: Set<String>) throws -> Void = { _ in }
    ) async throws -> String {
        let json = try Self.encode(payload)
        return try await self.transaction(call) { connection in
            try await self.insert(
                kind, parent: parent, name: name, status: status, json: json, call: call, on: connection, checkParent: checkParent)
        }
    }

    private func insert(
        _ kind: SandboxObjectKind,
        parent: String?,
        name: String,
        status: AdObjectStatus,
        json: String,
        owner: String? = nil,
        call: AdPlatformCall,
        on connection: PostgresConnection,
        checkParent: (Set<String>) throws -> Void
    ) async throws -> String {
        if let parent, let expected = kind.parentKind {
            guard let found = try await self.lookup(parent, lock: "FOR SHARE", call: call, on: connection) else {
                throw AdPlatformError.graph(.objectNotFound, "no \(expected.rawValue) \(parent)")
            }
            guard found.kind == expected else {
                throw AdPlatformError.graph(.invalidParameter, "\(parent) is a \(found.kind.rawValue), not a \(expected.rawValue)")
            }
            guard found.status.acceptsChildren else {
                throw AdPlatformError.graph(.invalidState, "\(expected.rawValue) \(parent) is \(found.status.rawValue)")
            }
            let keys = try await connection.query(
                "SELECT jsonb_object_keys(payload) FROM sandbox_objects WHERE seller_id = \(call.sellerID) AND external_id = \(parent)",
                logger: call.logger)
            var payloadKeys: Set<String> = []
            for try await key in keys.decode(String.self) { payloadKeys.insert(key) }
            try checkParent(payloadKeys)
        }
        for _ in 0..<Self.mintAttempts {
            let externalID = kind.mintID()
            let rows = try await connection.query(
                """
                INSERT INTO sandbox_objects (seller_id, external_id, kind, parent_external_id, name, status, payload, owner_user_id)
                VALUES (\(call.sellerID), \(externalID), \(kind.rawValue), \(parent), \(name), \(status.rawValue), \(json)::jsonb,
                        \(owner))
                ON CONFLICT DO NOTHING
                RETURNING external_id
                """,
                logger: call.logger
            )
            for try await inserted in rows.decode(String.self) {
                call.logger.debug(
                    "sandbox.object_created", metadata: ["sandbox.external_id": "\(inserted)", "sandbox.kind": "\(kind.rawValue)"])
                return inserted
            }
        }
        throw AdPlatformError.graph(.unavailable, "could not mint a free \(kind.rawValue) id")
    }

    /// Runs `body` in the sandbox's own transaction for the caller's seller; what `body` throws
    /// comes out as thrown (an `AdPlatformError` stays one).
    private func transaction<Result: Sendable>(
        _ call: AdPlatformCall,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await call.db.withSeller(call.sellerID, logger: call.logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// The seller's object, locked with `lock` (a constant clause) for the rest of the transaction.
    private func lookup(_ externalID: String, lock: StaticString, call: AdPlatformCall, on connection: PostgresConnection) async throws -> (
        kind: SandboxObjectKind, status: AdObjectStatus
    )? {
        let rows = try await connection.query(
            """
            SELECT kind, status FROM sandbox_objects
            WHERE seller_id = \(call.sellerID) AND external_id = \(externalID)
            \(unescaped: "\(lock)")
            """,
            logger: call.logger
        )
        for try await (kindText, statusText) in rows.decode((String, String).self) {
            guard let kind = SandboxObjectKind(rawValue: kindText), let status = AdObjectStatus(rawValue: statusText) else {
                throw AdPlatformError.graph(.unavailable, "object \(externalID) has an unreadable kind or status")
            }
            return (kind, status)
        }
        return nil
    }

    private static func encode(_ payload: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(payload), as: UTF8.self)
    }

    // MARK: - Meta's rules

    private static func require(_ condition: Bool, _ field: String, _ problem: String) throws {
        guard condition else { throw AdPlatformError.graph(.invalidParameter, "\(field) \(problem)", field: field) }
    }

    private static func requireBudgets(daily: Int64?, lifetime: Int64?) throws {
        try Self.require((daily ?? 1) > 0, "daily_budget", "must be a positive integer in minor units")
        try Self.require((lifetime ?? 1) > 0, "lifetime_budget", "must be a positive integer in minor units")
    }

    private static func requireInitial(_ status: AdObjectStatus) throws {
        try Self.require(status == .active || status == .paused, "status", "must be ACTIVE or PAUSED at creation")
    }
}

/// The kinds of sandbox objects and the parent each must have.
enum SandboxObjectKind: String, Sendable {
    case adAccount = "ad_account"
    case campaign
    case adSet = "ad_set"
    case ad
    case page
    case pixel
    case creative

    var parentKind: SandboxObjectKind? {
        switch self {
        case .adAccount: nil
        case .campaign, .page, .creative: .adAccount
        case .adSet: .campaign
        case .ad: .adSet
        case .pixel: .page
        }
    }

    /// Campaigns, ad sets and ads: what status and settings changes apply to.
    var isAdObject: Bool { self == .campaign || self == .adSet || self == .ad }

    /// A fresh Meta-shaped id: "act_" + 15 digits for ad accounts, 15 digits for pages, 16 for
    /// pixels, 18 for the rest; never a leading zero.
    func mintID() -> String {
        switch self {
        case .adAccount: "act_" + Self.mintDigits(15)
        case .page: Self.mintDigits(15)
        case .pixel: Self.mintDigits(16)
        case .campaign, .adSet, .ad, .creative: Self.mintDigits(18)
        }
    }

    /// `count` (15 to 18) random decimal digits, the first not zero.
    static func mintDigits(_ count: Int) -> String {
        var low: UInt64 = 1
        for _ in 1..<count { low *= 10 }
        return "\(UInt64.random(in: low...(low * 10 - 1)))"
    }
}
