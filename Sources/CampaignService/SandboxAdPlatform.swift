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

    /// Minting retries on an id collision (one in ~10^15 per pair; a few tries is plenty).
    private static let mintAttempts = 5

    func createAdAccount(_ spec: AdAccountSpec, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        try Self.require(
            spec.currency.count == 3 && spec.currency.allSatisfy { $0.isASCII && $0.isUppercase }, "currency", "must be an ISO 4217 code")
        try Self.require(TimeZone(identifier: spec.timeZone) != nil, "time_zone", "is not a time zone")
        return try await self.insert(.adAccount, parent: nil, name: spec.name, status: .active, payload: spec, call: call)
    }

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

    func createAd(_ spec: AdSpec, inAdSet adSetID: String, call: AdPlatformCall) async throws -> String {
        try Self.require(!spec.name.isEmpty, "name", "must not be empty")
        let scheme = URLComponents(string: spec.linkURL)?.scheme?.lowercased()
        try Self.require(scheme == "http" || scheme == "https", "link_url", "must be an http or https URL")
        try Self.requireInitial(spec.status)
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
            current.kind != .adAccount
        else {
            throw AdPlatformError(.objectNotFound, "no campaign, ad set or ad \(externalID)")
        }
        guard current.status != .deleted else {
            throw AdPlatformError(.invalidState, "\(externalID) is DELETED")
        }
        if settings.dailyBudget != nil || settings.lifetimeBudget != nil {
            guard current.kind != .ad else { throw AdPlatformError(.invalidParameter, "ads have no budget", field: "daily_budget") }
            try Self.requireBudgets(daily: settings.dailyBudget, lifetime: settings.lifetimeBudget)
        }
        if settings.targeting != nil || settings.bidAmount != nil || settings.endTime != nil || settings.clearsEndTime != nil {
            guard current.kind == .adSet else {
                throw AdPlatformError(.invalidParameter, "only ad sets have targeting, bids and an end time", field: "targeting")
            }
        }
        if settings.linkURL != nil {
            guard current.kind == .ad else { throw AdPlatformError(.invalidParameter, "only ads have a link", field: "link_url") }
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

    func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall) async throws {
        try await self.transaction(call) { connection in
            try await self.updateStatus(of: externalID, to: status, call: call, on: connection)
        }
    }

    private func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall, on connection: PostgresConnection)
        async throws
    {
        guard let current = try await self.lookup(externalID, lock: "FOR NO KEY UPDATE", call: call, on: connection),
            current.kind != .adAccount
        else {
            throw AdPlatformError(.objectNotFound, "no campaign, ad set or ad \(externalID)")
        }
        guard current.status.allowsChange(to: status) else {
            throw AdPlatformError(.invalidState, "object \(externalID) is \(current.status.rawValue)")
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
        call: AdPlatformCall,
        on connection: PostgresConnection,
        checkParent: (Set<String>) throws -> Void
    ) async throws -> String {
        if let parent, let expected = kind.parentKind {
            guard let found = try await self.lookup(parent, lock: "FOR SHARE", call: call, on: connection) else {
                throw AdPlatformError(.objectNotFound, "no \(expected.rawValue) \(parent)")
            }
            guard found.kind == expected else {
                throw AdPlatformError(.invalidParameter, "\(parent) is a \(found.kind.rawValue), not a \(expected.rawValue)")
            }
            guard found.status.acceptsChildren else {
                throw AdPlatformError(.invalidState, "\(expected.rawValue) \(parent) is \(found.status.rawValue)")
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
                INSERT INTO sandbox_objects (seller_id, external_id, kind, parent_external_id, name, status, payload)
                VALUES (\(call.sellerID), \(externalID), \(kind.rawValue), \(parent), \(name), \(status.rawValue), \(json)::jsonb)
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
        throw AdPlatformError(.unavailable, "could not mint a free \(kind.rawValue) id")
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
                throw AdPlatformError(.unavailable, "object \(externalID) has an unreadable kind or status")
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
        guard condition else { throw AdPlatformError(.invalidParameter, "\(field) \(problem)", field: field) }
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

    var parentKind: SandboxObjectKind? {
        switch self {
        case .adAccount: nil
        case .campaign: .adAccount
        case .adSet: .campaign
        case .ad: .adSet
        }
    }

    /// A fresh Meta-shaped id: "act_" + 15 digits for ad accounts, 18 digits for the rest; never
    /// a leading zero.
    func mintID() -> String {
        switch self {
        case .adAccount:
            "act_\(UInt64.random(in: 100_000_000_000_000...999_999_999_999_999))"
        case .campaign, .adSet, .ad:
            "\(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999))"
        }
    }
}
