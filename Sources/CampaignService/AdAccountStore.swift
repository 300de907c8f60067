import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import ServiceKit

/// A seller's account on the ad platform. Its currency is the unit of every budget below it; its
/// time zone decides which calendar day a stat belongs to.
struct AdAccountRecord: StoredObject {
    static let table = ObjectTable(
        name: "ad_accounts",
        noun: "ad account",
        source: "ad_accounts o",
        columns: "o.id, o.name, o.currency, o.time_zone, o.platform, o.external_id, o.created_at",
        parentColumn: nil,
        hasStatus: false
    )

    var id: UUID
    var name: String
    var currency: String
    var timeZone: String
    var platform: String
    var externalID: String
    var createdAt: Date

    init(row: PostgresRow) throws {
        (self.id, self.name, self.currency, self.timeZone, self.platform, self.externalID, self.createdAt) =
            try row.decode((UUID, String, String, String, String, String, Date).self)
    }

    var message: Pixecom_Campaign_V1_AdAccount {
        var account = Pixecom_Campaign_V1_AdAccount()
        account.id = self.id.wireText
        account.name = self.name
        account.currency = self.currency
        account.timeZone = self.timeZone
        account.platform = self.platform
        account.externalID = self.externalID
        account.createTime = RequestValidation.timestamp(self.createdAt)
        return account
    }
}

/// Writes of `ad_accounts`; reads go through `ObjectQueries`.
enum AdAccountStore {
    static func insert(
        _ spec: AdAccountSpec,
        platform: String,
        externalID: String,
        sellerID: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> AdAccountRecord {
        let id = UUID()
        return try await ObjectQueries.insert(
            """
            INSERT INTO ad_accounts (seller_id, id, name, currency, time_zone, platform, external_id)
            VALUES (\(sellerID), \(id), \(spec.name), \(spec.currency), \(spec.timeZone), \(platform), \(externalID))
            """,
            id: id,
            returning: AdAccountRecord.self,
            sellerID: sellerID,
            on: connection,
            logger: logger
        )
    }
}
