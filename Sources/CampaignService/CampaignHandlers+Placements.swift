import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// DescribePlacements: StatsService's one batched lookup of where ads and campaigns sit.
extension CampaignHandlers {
    /// The most ids one call may name, ads and campaigns together (an insights batch's rows).
    static let maxPlacementIDs = 5000

    /// Internal: the seller id is the request's, trusted because the caller's certificate proved it
    /// is StatsService (`AccessPolicy.campaign`). The read is scoped to that seller like any other,
    /// so an id of another seller is simply absent from the answer.
    func describePlacements(_ request: Pixecom_Campaign_V1_DescribePlacementsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DescribePlacementsResponse
    {
        let sellerID = try RequestValidation.id(request.sellerID, field: "seller_id")
        let count = request.adIds.count + request.campaignIds.count
        guard count <= Self.maxPlacementIDs else {
            throw RPCError.invalidArgument(
                field: "ad_ids", "ad_ids and campaign_ids name \(count) ids together; at most \(Self.maxPlacementIDs)")
        }
        var violations = FieldViolations()
        let adIDs = try request.adIds.enumerated().compactMap { index, text in
            try violations.check { try RequestValidation.id(text, field: "ad_ids[\(index)]") }
        }
        let campaignIDs = try request.campaignIds.enumerated().compactMap { index, text in
            try violations.check { try RequestValidation.id(text, field: "campaign_ids[\(index)]") }
        }
        try violations.throwIfAny()
        let placements = try await self.objects.placements(
            sellerID: sellerID, adIDs: adIDs, campaignIDs: campaignIDs, logger: context.logger)
        return Pixecom_Campaign_V1_DescribePlacementsResponse.with {
            $0.ads = placements.filter { !$0.adID.isEmpty }
            $0.campaigns = placements.filter { $0.adID.isEmpty }
        }
    }

    /// The most objects one DescribeObjects answers; a larger selection is narrowed by parent.
    static let maxDescribedObjects = 20_000

    /// Internal: every campaign, ad set or ad of the request's seller (StatsService proved it
    /// speaks for it with its certificate), or of one parent, not deleted, in id order.
    func describeObjects(_ request: Pixecom_Campaign_V1_DescribeObjectsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DescribeObjectsResponse
    {
        var violations = FieldViolations()
        let sellerID = try violations.check { try RequestValidation.id(request.sellerID, field: "seller_id") }
        let parentID = try violations.check {
            request.parentID.isEmpty ? nil : try RequestValidation.id(request.parentID, field: "parent_id")
        }
        // Per level: the table, its campaign and ad set columns, and which parents narrow it ($2 is
        // the parent id in `ObjectStore.summaries`).
        let shape: ObjectStore.SummaryShape?
        switch request.level {
        case "campaign": shape = .init(table: CampaignRecord.table, campaign: "o.id", adSet: "''", parent: "o.ad_account_id = $2")
        case "ad_set": shape = .init(table: AdSetRecord.table, campaign: "o.campaign_id", adSet: "''", parent: "o.campaign_id = $2")
        case "ad":
            shape = .init(
                table: AdRecord.table, campaign: "o.campaign_id", adSet: "o.ad_set_id::text",
                parent: "(o.campaign_id = $2 OR o.ad_set_id = $2)")
        default:
            shape = nil
            violations.add(field: "level", "must be campaign, ad_set or ad, got \"\(request.level.prefix(20))\"")
        }
        try violations.throwIfAny()
        guard let sellerID, let shape else { throw RPCError(.internal, "describe objects validation left a field unset") }
        let table = shape.table
        let objects = try await self.objects.summaries(
            sellerID: sellerID, parentID: parentID ?? nil, shape: shape, limit: Self.maxDescribedObjects + 1, logger: context.logger)
        guard objects.count <= Self.maxDescribedObjects else {
            throw RPCError(
                .failedPrecondition,
                "more than \(Self.maxDescribedObjects) \(table.noun)s; narrow the selection with parent_id")
        }
        if objects.isEmpty, let parentID = parentID ?? nil,
            try await !self.objects.parentExists(sellerID: sellerID, id: parentID, logger: context.logger)
        {
            throw RPCError(
                .notFound, "parent_id: \(parentID.wireText) is no ad account, campaign or ad set of the seller",
                fieldViolations: [RPCError.FieldViolation(field: "parent_id", description: "not found")])
        }
        let response = Pixecom_Campaign_V1_DescribeObjectsResponse.with { $0.objects = objects }
        // Long names can make fewer objects than the count limit too large for one frame (the
        // client's limit is RPCClientConfiguration.maxFrameSize, 4 MiB): the same answer as for
        // too many, not a frame the caller drops.
        let encoded: [UInt8] = try response.serializedBytes()
        guard encoded.count <= Self.maxDescribedBytes else {
            throw RPCError(
                .failedPrecondition,
                "the \(objects.count) \(table.noun)s and their names exceed one answer; narrow the selection with parent_id")
        }
        return response
    }

    /// An answer's bytes, under the 4 MiB frame limit with room for the frame's own fields.
    static let maxDescribedBytes = 4 * 1024 * 1024 - 64 * 1024
}

extension ObjectStore {
    /// The placements of the named ads and campaigns, deleted ones included, in one scoped read.
    /// Campaign rows have an empty ad id and ad set id.
    func placements(sellerID: UUID, adIDs: [UUID], campaignIDs: [UUID], logger: Logger) async throws
        -> [Pixecom_Campaign_V1_Placement]
    {
        guard !adIDs.isEmpty || !campaignIDs.isEmpty else { return [] }
        let query: PostgresQuery = """
            SELECT ad.id::text, ad.ad_set_id::text, c.id::text, a.id::text, a.currency, a.time_zone
            FROM ads ad
            JOIN campaigns c ON c.seller_id = ad.seller_id AND c.id = ad.campaign_id
            JOIN ad_accounts a ON a.seller_id = c.seller_id AND a.id = c.ad_account_id
            WHERE ad.seller_id = \(sellerID) AND ad.id = ANY(\(adIDs)::uuid[])
            UNION ALL
            SELECT '', '', c.id::text, a.id::text, a.currency, a.time_zone
            FROM campaigns c
            JOIN ad_accounts a ON a.seller_id = c.seller_id AND a.id = c.ad_account_id
            WHERE c.seller_id = \(sellerID) AND c.id = ANY(\(campaignIDs)::uuid[])
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (ad, adSet, campaign, account, currency, timeZone) = try row.decode((String, String, String, String, String, String).self)
            return Pixecom_Campaign_V1_Placement.with {
                $0.adID = ad
                $0.adSetID = adSet
                $0.campaignID = campaign
                $0.adAccountID = account
                $0.currency = currency
                $0.timeZone = timeZone
            }
        }
    }

    /// Constant SQL for one level's summaries, only ever built from literals in this module.
    struct SummaryShape: Sendable {
        var table: ObjectTable
        /// The campaign id and ad set id (text) of a row over `table.source`.
        var campaign: String
        var adSet: String
        /// Which rows are under the parent, which the query binds as `$2`.
        var parent: String
    }

    /// One level's objects for the ads manager, not deleted, in id order, in one scoped read.
    func summaries(sellerID: UUID, parentID: UUID?, shape: SummaryShape, limit: Int, logger: Logger) async throws
        -> [Pixecom_Campaign_V1_ObjectSummary]
    {
        let effectiveStatus = shape.table.effectiveStatus ?? "o.status"
        // Binds: $1 the seller, $2 the parent (named again by `shape.parent`), $3 the limit.
        let query: PostgresQuery = """
            SELECT o.id::text, o.name, o.status, \(unescaped: effectiveStatus), \(unescaped: shape.campaign)::text,
                   \(unescaped: shape.adSet), a.id::text, a.currency
            FROM \(unescaped: shape.table.source)
            WHERE o.seller_id = \(sellerID) AND o.status <> 'DELETED'
              AND (\(parentID)::uuid IS NULL OR \(unescaped: shape.parent))
            ORDER BY o.id
            LIMIT \(limit)
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { row in
            let (id, name, status, effective, campaignID, adSetID, account, currency) = try row.decode(
                (String, String, String, String, String, String, String, String).self)
            return Pixecom_Campaign_V1_ObjectSummary.with {
                $0.id = id
                $0.name = name
                $0.status = status
                $0.effectiveStatus = effective
                $0.campaignID = campaignID
                $0.adSetID = adSetID
                $0.adAccountID = account
                $0.currency = currency
            }
        }
    }

    /// Whether the seller has an ad account, campaign or ad set with this id.
    func parentExists(sellerID: UUID, id: UUID, logger: Logger) async throws -> Bool {
        let query: PostgresQuery = """
            SELECT EXISTS (SELECT 1 FROM ad_accounts WHERE seller_id = \(sellerID) AND id = \(id))
                OR EXISTS (SELECT 1 FROM campaigns WHERE seller_id = \(sellerID) AND id = \(id))
                OR EXISTS (SELECT 1 FROM ad_sets WHERE seller_id = \(sellerID) AND id = \(id))
            """
        return try await self.db.readAsSeller(sellerID, query, logger: logger) { try $0.decode(Bool.self) }.first ?? false
    }
}
