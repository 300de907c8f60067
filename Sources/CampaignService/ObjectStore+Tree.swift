import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A stored campaign with its ad sets and their ads (DELETED ones left out), in creation order.
struct CampaignTreeRecord: Sendable {
    struct Branch: Sendable {
        var adSet: AdSetRecord
        var ads: [AdRecord]
    }

    var campaign: CampaignRecord
    var adSets: [Branch]

    var message: Pixecom_Campaign_V1_CampaignTree {
        var tree = Pixecom_Campaign_V1_CampaignTree()
        tree.campaign = self.campaign.message
        tree.adSets = self.adSets.map { branch in
            var adSet = Pixecom_Campaign_V1_AdSetWithAds()
            adSet.adSet = branch.adSet.message
            adSet.ads = branch.ads.map(\.message)
            return adSet
        }
        return tree
    }

    /// The campaign of a copy: the original's settings under a new name and status.
    func copiedCampaign(name: String, status: AdObjectStatus) -> CampaignSpec {
        let original = self.campaign
        return CampaignSpec(
            name: name, objective: original.objective, dailyBudget: original.dailyBudget, lifetimeBudget: original.lifetimeBudget,
            bidStrategy: original.bidStrategy, specialAdCategories: original.specialAdCategories, status: status)
    }

    /// The ad sets and ads of a copy, starting now and ending when the originals end (an end
    /// already past is dropped; a lifetime budget without a future end cannot be copied).
    func copiedAdSets(status: AdObjectStatus, now: Date = Date()) throws -> [TreePlan.AdSetPlan] {
        try self.adSets.enumerated().map { index, branch in
            let original = branch.adSet
            let end = original.endTime.flatMap { $0 > now ? $0 : nil }
            if end == nil, original.lifetimeBudget != nil || self.campaign.lifetimeBudget != nil {
                throw RPCError(
                    .failedPrecondition,
                    "\(AdSetRecord.table.describe(original.id)) has ended; a lifetime budget needs an end time in the future",
                    fieldViolations: [.init(field: "ad_sets[\(index)].ad_set.end_time", description: "is past")])
            }
            let spec = AdSetSpec(
                name: original.name, dailyBudget: original.dailyBudget, lifetimeBudget: original.lifetimeBudget,
                bidAmount: original.bidAmount, roasAverageFloor: original.roasAverageFloor, optimizationGoal: original.optimizationGoal,
                billingEvent: original.billingEvent, targeting: original.targeting, startTime: now, endTime: end, status: status)
            let ads = branch.ads.map {
                AdSpec(name: $0.name, linkURL: $0.linkURL, status: status, creativeID: $0.creativeID, urlTags: $0.urlTags)
            }
            return TreePlan.AdSetPlan(spec: spec, ads: ads)
        }
    }
}

extension TreePlan {
    /// What creating the plan would answer, without ids, external ids or times.
    func dryRun(_ campaign: CampaignRecord) -> Pixecom_Campaign_V1_CampaignTree {
        var tree = Pixecom_Campaign_V1_CampaignTree()
        tree.dryRun = true
        tree.campaign = Self.unstored(campaign.message)
        tree.adSets = self.adSets.map { plan in
            let adSet = AdSetRecord(planned: plan.spec, id: UUID(), campaign: campaign, at: campaign.createdAt)
            var branch = Pixecom_Campaign_V1_AdSetWithAds()
            branch.adSet = Self.unstored(adSet.message)
            branch.adSet.startTime = ""
            branch.ads = plan.ads.map { spec in
                var ad = Self.unstored(
                    AdRecord(planned: spec, id: UUID(), adSet: adSet, campaign: campaign, at: campaign.createdAt).message)
                // The ids come with creation: the final URL shows where they will go.
                ad.finalURL = URLTags.joined(link: spec.linkURL, query: spec.urlTags)
                return ad
            }
            return branch
        }
        return tree
    }

    private static func unstored<Message: ObjectMessage>(_ message: Message) -> Message {
        var message = message
        message.clearStoredFields()
        return message
    }
}

/// The fields a dry run leaves empty: what only storing an object gives it.
protocol ObjectMessage {
    mutating func clearStoredFields()
}

extension Pixecom_Campaign_V1_Campaign: ObjectMessage {
    mutating func clearStoredFields() {
        (self.id, self.adAccountID, self.externalID, self.createTime, self.updateTime) = ("", self.adAccountID, "", "", "")
    }
}

extension Pixecom_Campaign_V1_AdSet: ObjectMessage {
    mutating func clearStoredFields() {
        (self.id, self.campaignID, self.externalID, self.createTime, self.updateTime) = ("", "", "", "", "")
    }
}

extension Pixecom_Campaign_V1_Ad: ObjectMessage {
    mutating func clearStoredFields() {
        (self.id, self.adSetID, self.campaignID, self.externalID, self.createTime, self.updateTime) = ("", "", "", "", "", "")
    }
}

extension ObjectStore {
    enum StoredTree: Sendable {
        case created(CampaignTreeRecord)
        /// Another creation with the same idempotency key stored its campaign first.
        case createdEarlier(UUID)
    }

    /// The seller's campaign `campaignID` with its ad sets and ads (NOT_FOUND naming it).
    func tree(campaignID: UUID, sellerID: UUID, logger: Logger) async throws -> CampaignTreeRecord {
        let campaign = try await self.get(CampaignRecord.self, id: campaignID, sellerID: sellerID, logger: logger)
        let adSets = try await self.live(AdSetRecord.self, inCampaign: campaignID, sellerID: sellerID, logger: logger)
        let ads = try await self.live(AdRecord.self, inCampaign: campaignID, sellerID: sellerID, logger: logger)
        let byAdSet = Dictionary(grouping: ads, by: \.adSetID)
        return CampaignTreeRecord(
            campaign: campaign, adSets: adSets.map { CampaignTreeRecord.Branch(adSet: $0, ads: byAdSet[$0.id] ?? []) })
    }

    /// The ad sets or ads of a campaign that are not DELETED, in creation order.
    private func live<Object: StoredObject>(_ type: Object.Type, inCampaign campaignID: UUID, sellerID: UUID, logger: Logger)
        async throws -> [Object]
    {
        try await self.db.readAsSeller(
            sellerID,
            """
            SELECT \(unescaped: Object.table.columns) FROM \(unescaped: Object.table.source)
            WHERE o.seller_id = \(sellerID) AND o.campaign_id = \(campaignID) AND o.status <> 'DELETED'
            ORDER BY o.created_at, o.id
            """,
            logger: logger, transform: Object.init(row:))
    }

    /// The campaign an earlier creation with `key` made; nil when the key is new. A key used for
    /// another request (or method) is FAILED_PRECONDITION.
    func campaign(createdWith key: CreationKey, sellerID: UUID, logger: Logger) async throws -> UUID? {
        let rows = try await self.db.readAsSeller(
            sellerID,
            """
            SELECT campaign_id, method = \(key.method) AND request_hash = encode(sha256(\(ByteBuffer(bytes: key.request))), 'hex')
            FROM creation_keys WHERE seller_id = \(sellerID) AND key = \(key.key)
            """,
            logger: logger
        ) { try $0.decode((UUID, Bool).self) }
        guard let (campaignID, same) = rows.first else { return nil }
        guard same else {
            throw RPCError(
                .failedPrecondition, "idempotency-key was used for another request",
                fieldViolations: [.init(field: CreationKey.field, description: "was used for another request")])
        }
        return campaignID
    }

    /// Stores a tree the platform has created, in one transaction that checks the account and
    /// the plan again and records the idempotency key.
    func insertTree(
        _ plan: TreePlan,
        external: TreeExternalIDs,
        key: CreationKey?,
        quota: PlanQuota,
        sellerID: UUID,
        logger: Logger
    ) async throws -> StoredTree {
        do {
            return .created(
                try await self.db.withSeller(sellerID, logger: logger) { connection in
                    let account = try await ObjectQueries.require(
                        AdAccountRecord.self, sellerID: sellerID, id: plan.account.id, lock: .share, on: connection, logger: logger)
                    try account.requireConnected()
                    try await quota.requireRoom(sellerID: sellerID, on: connection, logger: logger)
                    let campaign = try await CampaignStore.insert(
                        plan.campaign, adAccountID: account.id, externalID: external.campaign, sellerID: sellerID, on: connection,
                        logger: logger)
                    if let key {
                        let taken = try await connection.query(
                            """
                            INSERT INTO creation_keys (seller_id, key, method, request_hash, campaign_id)
                            VALUES (\(sellerID), \(key.key), \(key.method), encode(sha256(\(ByteBuffer(bytes: key.request))), 'hex'), \(campaign.id))
                            ON CONFLICT DO NOTHING
                            RETURNING key
                            """,
                            logger: logger)
                        var inserted = false
                        for try await _ in taken { inserted = true }
                        guard inserted else { throw KeyTaken() }
                    }
                    var branches: [CampaignTreeRecord.Branch] = []
                    for (index, adSetPlan) in plan.adSets.enumerated() {
                        let adSet = try await AdSetStore.insert(
                            adSetPlan.spec, campaignID: campaign.id, externalID: external.adSets[index].adSet, sellerID: sellerID,
                            on: connection, logger: logger)
                        var ads: [AdRecord] = []
                        for (adIndex, ad) in adSetPlan.ads.enumerated() {
                            ads.append(
                                try await AdStore.insert(
                                    ad, in: adSet, externalID: external.adSets[index].ads[adIndex], sellerID: sellerID, on: connection,
                                    logger: logger))
                        }
                        branches.append(.init(adSet: adSet, ads: ads))
                    }
                    return CampaignTreeRecord(campaign: campaign, adSets: branches)
                })
        } catch let error as PostgresTransactionError where error.closureError is KeyTaken {
            guard let key, let earlier = try await self.campaign(createdWith: key, sellerID: sellerID, logger: logger) else {
                throw RPCError(.aborted, "the idempotency key's creation changed concurrently; retry")
            }
            return .createdEarlier(earlier)
        }
    }

    /// The idempotency key was stored by a concurrent creation; this transaction is rolled back.
    private struct KeyTaken: Error {}
}
