import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// Storing an object the ad platform has just created. Each insert runs in its own transaction
/// that first checks again, under locks, what the handler checked before calling the platform
/// (the parent still exists and takes children; the plan still has room): the platform call ran
/// with no lock held, so either may have changed. A failed check throws and stores nothing; the
/// handler then removes the platform's object.
extension ObjectStore {
    /// Connects (or reconnects) an ad account; the plan's room is checked again under its lock.
    func connectAdAccount(
        _ connection: AdAccountConnection,
        quota: PlanQuota,
        sellerID: UUID,
        logger: Logger
    ) async throws -> (record: AdAccountRecord, reconnected: Bool) {
        try await self.db.withSeller(sellerID, logger: logger) { db in
            try await quota.requireRoom(sellerID: sellerID, on: db, logger: logger)
            return try await AdAccountStore.connect(connection, sellerID: sellerID, on: db, logger: logger)
        }
    }

    func insertCampaign(
        _ spec: CampaignSpec,
        adAccountID: UUID,
        externalID: String,
        quota: PlanQuota,
        sellerID: UUID,
        logger: Logger
    ) async throws -> CampaignRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let account = try await ObjectQueries.require(
                AdAccountRecord.self, sellerID: sellerID, id: adAccountID, lock: .share, on: connection, logger: logger)
            try account.requireConnected()
            try await quota.requireRoom(sellerID: sellerID, on: connection, logger: logger)
            return try await CampaignStore.insert(
                spec, adAccountID: account.id, externalID: externalID, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    func insertAdSet(_ spec: AdSetSpec, campaignID: UUID, externalID: String, sellerID: UUID, logger: Logger) async throws -> AdSetRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let campaign = try await ObjectQueries.require(
                CampaignRecord.self, sellerID: sellerID, id: campaignID, lock: .share, on: connection, logger: logger)
            try campaign.requireAcceptsChildren()
            return try await AdSetStore.insert(
                spec, campaignID: campaign.id, externalID: externalID, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    func insertAd(
        _ spec: AdSpec, adSetID: UUID, externalID: String, quota: PlanQuota, sellerID: UUID, logger: Logger
    ) async throws -> AdRecord {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let adSet = try await ObjectQueries.require(
                AdSetRecord.self, sellerID: sellerID, id: adSetID, lock: .share, on: connection, logger: logger)
            try adSet.requireAcceptsChildren()
            try await quota.requireRoom(sellerID: sellerID, on: connection, logger: logger)
            return try await AdStore.insert(spec, in: adSet, externalID: externalID, sellerID: sellerID, on: connection, logger: logger)
        }
    }
}

extension StatusBearingObject {
    /// FAILED_PRECONDITION when this parent is ARCHIVED or DELETED: nothing new goes under it.
    func requireAcceptsChildren() throws {
        try self.requireConnectedAccount()
        guard self.status.acceptsChildren else {
            throw RPCError(
                .failedPrecondition,
                "\(Self.table.describe(self.id)) is \(self.status.rawValue); new children need an ACTIVE or PAUSED parent"
            )
        }
    }
}
