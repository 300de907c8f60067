import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's account on the ad platform, connected through one of its platform connections.
/// Its currency is the unit of every budget below it; its time zone decides which calendar day a
/// stat belongs to. Neither changes after connection.
struct AdAccountRecord: StoredObject {
    static let table = ObjectTable(
        name: "ad_accounts",
        noun: "ad account",
        source: "ad_accounts o",
        columns: """
            o.id, o.name, o.currency, o.time_zone, o.platform, o.external_id, o.created_at, o.updated_at, o.connection_id, \
            o.status, o.disconnected_at, o.pages::text, o.default_page_id, o.default_pixel_id
            """,
        parentColumn: nil,
        hasStatus: false,
        countCondition: "status = 'CONNECTED'"
    )

    var id: UUID
    var name: String
    var currency: String
    var timeZone: String
    var platform: String
    var externalID: String
    var createdAt: Date
    var updatedAt: Date
    var connectionID: UUID?
    var connected: Bool
    var disconnectedAt: Date?
    var pages: [PlatformPage]
    var defaultPageID: String?
    var defaultPixelID: String?

    init(row: PostgresRow) throws {
        let status: String
        let pages: String
        (
            self.id, self.name, self.currency, self.timeZone, self.platform, self.externalID, self.createdAt, self.updatedAt,
            self.connectionID, status, self.disconnectedAt, pages, self.defaultPageID, self.defaultPixelID
        ) = try row.decode((UUID, String, String, String, String, String, Date, Date, UUID?, String, Date?, String, String?, String?).self)
        switch status {
        case "CONNECTED": self.connected = true
        case "DISCONNECTED": self.connected = false
        default: throw UnreadableRowError(table: Self.table.name, column: "status", value: status)
        }
        do {
            self.pages = try JSONDecoder().decode([PlatformPage].self, from: Data(pages.utf8))
        } catch {
            throw UnreadableRowError(table: Self.table.name, column: "pages", value: String(pages.prefix(200)))
        }
    }

    /// FAILED_PRECONDITION when the account is disconnected (see `requireConnectedAccount`).
    func requireConnected() throws {
        guard self.connected else {
            throw RPCError(
                .failedPrecondition,
                "\(Self.table.describe(self.id)) is disconnected; connect it again (POST /v1/ad-accounts with its externalId) to change anything under it"
            )
        }
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
        account.updateTime = RequestValidation.timestamp(self.updatedAt)
        account.connectionID = self.connectionID?.wireText ?? ""
        account.status = self.connected ? "CONNECTED" : "DISCONNECTED"
        account.disconnectTime = self.disconnectedAt.map(RequestValidation.timestamp) ?? ""
        account.pages = self.pages.map { page in
            Pixecom_Campaign_V1_AdAccountPage.with {
                $0.id = page.id
                $0.name = page.name
                $0.pixels = page.pixels.map { pixel in
                    Pixecom_Campaign_V1_AdAccountPixel.with {
                        $0.id = pixel.id
                        $0.name = pixel.name
                    }
                }
            }
        }
        account.defaultPageID = self.defaultPageID ?? ""
        account.defaultPixelID = self.defaultPixelID ?? ""
        return account
    }
}

/// What an ad account is connected as: the seller's name for it and the platform's account.
struct AdAccountConnection: Sendable {
    var name: String
    var platform: String
    var connectionID: UUID
    var account: PlatformAdAccount

    /// The first page and its first pixel, the defaults of a new connection.
    var defaultPageID: String? { self.account.pages.first?.id }
    var defaultPixelID: String? { self.account.pages.first?.pixels.first?.id }

    var pagesJSON: String {
        String(decoding: (try? JSONEncoder().encode(self.account.pages)) ?? Data("[]".utf8), as: UTF8.self)
    }
}

/// Writes of `ad_accounts`; reads go through `ObjectQueries`.
enum AdAccountStore {
    /// Stores a newly connected account, or reconnects the seller's disconnected row of the same
    /// platform account (same id: its campaigns and history are there). ALREADY_EXISTS when the
    /// seller has it connected already, or another seller has it.
    static func connect(
        _ connection: AdAccountConnection,
        sellerID: UUID,
        on db: PostgresConnection,
        logger: Logger
    ) async throws -> (record: AdAccountRecord, reconnected: Bool) {
        let account = connection.account
        let existing = try await db.query(
            """
            SELECT id, status FROM ad_accounts
            WHERE seller_id = \(sellerID) AND platform = \(connection.platform) AND external_id = \(account.externalID)
            FOR NO KEY UPDATE
            """,
            logger: logger
        )
        for try await (id, status) in existing.decode((UUID, String).self) {
            guard status == "DISCONNECTED" else {
                throw RPCError(
                    .alreadyExists, "ad account \(id.wireText) is this platform account (\(account.externalID)) and is connected already")
            }
            try await db.query(
                """
                UPDATE ad_accounts SET status = 'CONNECTED', disconnected_at = NULL, connection_id = \(connection.connectionID),
                    pages = \(connection.pagesJSON)::jsonb, updated_at = clock_timestamp(),
                    default_page_id = CASE WHEN \(connection.pagesJSON)::jsonb @> jsonb_build_array(jsonb_build_object('id', default_page_id))
                                           THEN default_page_id ELSE \(connection.defaultPageID) END,
                    default_pixel_id = CASE WHEN \(connection.pagesJSON)::jsonb @> jsonb_build_array(jsonb_build_object('id', default_page_id))
                                            THEN default_pixel_id ELSE \(connection.defaultPixelID) END
                WHERE seller_id = \(sellerID) AND id = \(id)
                """,
                logger: logger
            )
            let record = try await ObjectQueries.require(AdAccountRecord.self, sellerID: sellerID, id: id, on: db, logger: logger)
            return (record, true)
        }
        let id = UUID()
        do {
            let record = try await ObjectQueries.insert(
                """
                INSERT INTO ad_accounts (seller_id, id, name, currency, time_zone, platform, external_id, connection_id, pages,
                                         default_page_id, default_pixel_id)
                VALUES (\(sellerID), \(id), \(connection.name), \(account.currency), \(account.timeZone), \(connection.platform),
                        \(account.externalID), \(connection.connectionID), \(connection.pagesJSON)::jsonb,
                        \(connection.defaultPageID), \(connection.defaultPixelID))
                """,
                id: id,
                returning: AdAccountRecord.self,
                sellerID: sellerID,
                on: db,
                logger: logger
            )
            return (record, false)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // UNIQUE (platform, external_id): another seller connected this platform account.
            throw RPCError(.alreadyExists, "platform account \(account.externalID) is connected to another PixEcom seller")
        }
    }

    /// Sets the fields `update` names and returns the row; NOT_FOUND for another seller's id.
    static func update(
        _ update: AdAccountUpdate,
        id: UUID,
        sellerID: UUID,
        on db: PostgresConnection,
        logger: Logger
    ) async throws -> AdAccountRecord {
        let current = try await ObjectQueries.require(
            AdAccountRecord.self, sellerID: sellerID, id: id, lock: .update, on: db, logger: logger)
        try current.requireConnected()
        var pageID = current.defaultPageID
        var pixelID = current.defaultPixelID
        if let newPage = update.defaultPageID {
            pageID = newPage
            // A pixel of another page does not stay the default.
            if update.defaultPixelID == nil, newPage != current.defaultPageID { pixelID = nil }
        }
        if let newPixel = update.defaultPixelID { pixelID = newPixel }
        if let pageID {
            guard let page = current.pages.first(where: { $0.id == pageID }) else {
                throw RPCError.invalidArgument(
                    field: "default_page_id",
                    "\"\(pageID)\" is not a page of this ad account (its pages: \(Self.list(current.pages.map(\.id))))")
            }
            if let pixelID, !page.pixels.contains(where: { $0.id == pixelID }) {
                throw RPCError.invalidArgument(
                    field: "default_pixel_id",
                    "\"\(pixelID)\" is not a pixel of page \(pageID) (its pixels: \(Self.list(page.pixels.map(\.id))))")
            }
        } else if pixelID != nil {
            throw RPCError.invalidArgument(field: "default_pixel_id", "needs a default page first (set defaultPageId)")
        }
        try await db.query(
            """
            UPDATE ad_accounts SET name = coalesce(\(update.name), name), default_page_id = \(pageID), default_pixel_id = \(pixelID),
                updated_at = clock_timestamp()
            WHERE seller_id = \(sellerID) AND id = \(id)
            """,
            logger: logger
        )
        return try await ObjectQueries.require(AdAccountRecord.self, sellerID: sellerID, id: id, on: db, logger: logger)
    }

    /// Marks the account DISCONNECTED (again: no change) and returns it.
    static func disconnect(id: UUID, sellerID: UUID, on db: PostgresConnection, logger: Logger) async throws -> AdAccountRecord {
        _ = try await ObjectQueries.require(AdAccountRecord.self, sellerID: sellerID, id: id, lock: .update, on: db, logger: logger)
        try await db.query(
            """
            UPDATE ad_accounts SET status = 'DISCONNECTED', disconnected_at = clock_timestamp(), updated_at = clock_timestamp()
            WHERE seller_id = \(sellerID) AND id = \(id) AND status = 'CONNECTED'
            """,
            logger: logger
        )
        return try await ObjectQueries.require(AdAccountRecord.self, sellerID: sellerID, id: id, on: db, logger: logger)
    }

    private static func list(_ ids: [String]) -> String {
        ids.isEmpty ? "none" : ids.joined(separator: ", ")
    }
}

/// The fields of an UpdateAdAccount its mask names (nil: unchanged).
struct AdAccountUpdate: Sendable {
    var name: String?
    var defaultPageID: String?
    var defaultPixelID: String?
}
