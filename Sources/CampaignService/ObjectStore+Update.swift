import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

extension StatusBearingObject {
    /// Whether `change` may apply to this object as it is: FAILED_PRECONDITION for a status
    /// change the platform forbids, or new settings on a DELETED object.
    func check(_ change: ObjectChange) throws {
        try self.requireConnectedAccount()
        if let status = change.status { try self.status.checkChange(to: status, object: Self.table.describe(self.id)) }
        if change.touchesSettings, self.status == .deleted {
            throw RPCError(.failedPrecondition, "\(Self.table.describe(self.id)) is DELETED and cannot change")
        }
    }
}

extension ObjectStore {
    /// Stores `change` on the seller's object in one transaction that locks the row and checks the
    /// change again against it (another update may have landed since `read`, the state the
    /// handler checked and sent to the platform).
    ///
    /// Returns the object as stored and whether another update landed in between: then the
    /// platform may have received the two in the other order, and the handler sends it the stored
    /// values once more.
    func update<Object: StatusBearingObject>(
        _ type: Object.Type,
        _ change: ObjectChange,
        since read: Object,
        sellerID: UUID,
        logger: Logger
    ) async throws -> (object: Object, interleaved: Bool) {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let current = try await ObjectQueries.require(
                type, sellerID: sellerID, id: read.id, lock: .update, on: connection, logger: logger)
            try current.check(change)
            if change.touchesSettings {
                try await ObjectQueries.setSettings(type, change, sellerID: sellerID, id: read.id, on: connection, logger: logger)
            }
            if let status = change.status, status != current.status {
                try await ObjectQueries.setStatus(type, status, sellerID: sellerID, id: read.id, on: connection, logger: logger)
            }
            let updated = try await ObjectQueries.require(type, sellerID: sellerID, id: read.id, on: connection, logger: logger)
            return (updated, current.updatedAt != read.updatedAt)
        }
    }
}
