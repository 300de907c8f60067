import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's ad text: primary texts, headlines and descriptions with their variants, and the call
/// to action.
struct AdTextRecord: StoredObject {
    static let table = ObjectTable(
        name: "ad_texts",
        noun: "ad text",
        source: "ad_texts o",
        columns: "o.id, o.name, o.primary_texts, o.headlines, o.descriptions, o.call_to_action, o.created_at",
        parentColumn: nil,
        hasStatus: false
    )

    static let callsToAction = [
        "SHOP_NOW", "LEARN_MORE", "BUY_NOW", "ORDER_NOW", "GET_OFFER", "SIGN_UP", "SUBSCRIBE", "CONTACT_US", "BOOK_NOW", "DOWNLOAD",
        "NO_BUTTON",
    ]

    var id: UUID
    var name: String
    var primaryTexts: [String]
    var headlines: [String]
    var descriptions: [String]
    var callToAction: String
    var createdAt: Date

    init(row: PostgresRow) throws {
        (self.id, self.name, self.primaryTexts, self.headlines, self.descriptions, self.callToAction, self.createdAt) =
            try row.decode((UUID, String, [String], [String], [String], String, Date).self)
    }

    init(_ request: Pixecom_Campaign_V1_CreateAdTextRequest) throws {
        var violations = FieldViolations()
        func variants(_ values: [String], field: String, minimum: Int, maxLength: Int) -> [String] {
            guard (minimum...5).contains(values.count) else {
                violations.add(field: field, "has \(values.count) variants; \(minimum) to 5 are allowed")
                return []
            }
            return values.enumerated().compactMap { index, value in
                try? violations.check { try RequestValidation.text(value, field: "\(field)[\(index)]", maxLength: maxLength) }
            }
        }
        let name = try violations.check { try CampaignValidation.name(request.name) }
        self.primaryTexts = variants(request.primaryTexts, field: "primary_texts", minimum: 1, maxLength: 2000)
        self.headlines = variants(request.headlines, field: "headlines", minimum: 0, maxLength: 255)
        self.descriptions = variants(request.descriptions, field: "descriptions", minimum: 0, maxLength: 255)
        let action = request.callToAction.isEmpty ? "SHOP_NOW" : request.callToAction
        if !Self.callsToAction.contains(action) {
            violations.add(
                field: "call_to_action", "must be one of \(Self.callsToAction.joined(separator: ", ")), not \"\(action.prefix(40))\"")
        }
        try violations.throwIfAny()
        self.id = UUID()
        self.name = name ?? ""
        self.callToAction = action
        self.createdAt = Date()
    }

    var message: Pixecom_Campaign_V1_AdText {
        .with {
            $0.id = self.id.wireText
            $0.name = self.name
            $0.primaryTexts = self.primaryTexts
            $0.headlines = self.headlines
            $0.descriptions = self.descriptions
            $0.callToAction = self.callToAction
            $0.createTime = RequestValidation.timestamp(self.createdAt)
        }
    }
}

/// A carousel card as stored in `creatives.cards`.
struct CreativeCard: Codable, Sendable, Equatable {
    var imageAssetID: UUID?
    var videoAssetID: UUID?
    var thumbnailAssetID: UUID?
    var headline: String
    var description: String
    var linkURL: String

    enum CodingKeys: String, CodingKey {
        case imageAssetID = "image_asset_id"
        case videoAssetID = "video_asset_id"
        case thumbnailAssetID = "thumbnail_asset_id"
        case headline, description
        case linkURL = "link_url"
    }

    var message: Pixecom_Campaign_V1_CreativeCard {
        .with {
            $0.imageAssetID = self.imageAssetID?.wireText ?? ""
            $0.videoAssetID = self.videoAssetID?.wireText ?? ""
            $0.thumbnailAssetID = self.thumbnailAssetID?.wireText ?? ""
            $0.headline = self.headline
            $0.description_p = self.description
            $0.linkURL = self.linkURL
        }
    }
}

/// A seller's creative: assets in the slots of its format, an ad text, the link and its url_tags.
struct CreativeRecord: StoredObject {
    enum Format: String, Sendable, CaseIterable {
        case singleImage = "SINGLE_IMAGE"
        case singleVideo = "SINGLE_VIDEO"
        case carousel = "CAROUSEL"
    }

    static let table = ObjectTable(
        name: "creatives",
        noun: "creative",
        source: "creatives o",
        columns: """
            o.id, o.name, o.format, o.image_asset_id, o.video_asset_id, o.thumbnail_asset_id, o.cards::text, o.ad_text_id, o.link_url, \
            o.url_tags, o.created_at
            """,
        parentColumn: nil,
        hasStatus: false
    )

    var id: UUID
    var name: String
    var format: Format
    var imageAssetID: UUID?
    var videoAssetID: UUID?
    var thumbnailAssetID: UUID?
    var cards: [CreativeCard]
    var adTextID: UUID?
    var linkURL: String
    var urlTags: String
    var createdAt: Date

    init(row: PostgresRow) throws {
        let format: String
        let cards: String
        (
            self.id, self.name, format, self.imageAssetID, self.videoAssetID, self.thumbnailAssetID, cards, self.adTextID, self.linkURL,
            self.urlTags, self.createdAt
        ) = try row.decode((UUID, String, String, UUID?, UUID?, UUID?, String, UUID?, String, String, Date).self)
        guard let known = Format(rawValue: format) else {
            throw UnreadableRowError(table: Self.table.name, column: "format", value: format)
        }
        self.format = known
        do {
            self.cards = try JSONDecoder().decode([CreativeCard].self, from: Data(cards.utf8))
        } catch {
            throw UnreadableRowError(table: Self.table.name, column: "cards", value: String(cards.prefix(200)))
        }
    }

    init(
        id: UUID, name: String, format: Format, imageAssetID: UUID?, videoAssetID: UUID?, thumbnailAssetID: UUID?, cards: [CreativeCard],
        adTextID: UUID?, linkURL: String, urlTags: String
    ) {
        (self.id, self.name, self.format, self.imageAssetID, self.videoAssetID, self.thumbnailAssetID) = (
            id, name, format, imageAssetID, videoAssetID, thumbnailAssetID
        )
        (self.cards, self.adTextID, self.linkURL, self.urlTags, self.createdAt) = (cards, adTextID, linkURL, urlTags, Date())
    }

    var message: Pixecom_Campaign_V1_Creative {
        .with {
            $0.id = self.id.wireText
            $0.name = self.name
            $0.format = self.format.rawValue
            $0.imageAssetID = self.imageAssetID?.wireText ?? ""
            $0.videoAssetID = self.videoAssetID?.wireText ?? ""
            $0.thumbnailAssetID = self.thumbnailAssetID?.wireText ?? ""
            $0.cards = self.cards.map(\.message)
            $0.adTextID = self.adTextID?.wireText ?? ""
            $0.linkURL = self.linkURL
            $0.urlTags = self.urlTags
            $0.createTime = RequestValidation.timestamp(self.createdAt)
        }
    }

    /// Every asset the creative holds, with the field of its slot and the type the slot needs.
    var slots: [(field: String, asset: UUID, type: AssetType)] {
        var slots: [(String, UUID, AssetType)] = []
        if let image = self.imageAssetID { slots.append(("image_asset_id", image, .image)) }
        if let video = self.videoAssetID { slots.append(("video_asset_id", video, .video)) }
        if let thumbnail = self.thumbnailAssetID { slots.append(("thumbnail_asset_id", thumbnail, .image)) }
        for (index, card) in self.cards.enumerated() {
            if let image = card.imageAssetID { slots.append(("cards[\(index)].image_asset_id", image, .image)) }
            if let video = card.videoAssetID { slots.append(("cards[\(index)].video_asset_id", video, .video)) }
            if let thumbnail = card.thumbnailAssetID { slots.append(("cards[\(index)].thumbnail_asset_id", thumbnail, .image)) }
        }
        return slots
    }
}

extension CreativeRecord {
    /// The creative a request asks for, its shape checked (which slots its format fills, the
    /// cards, the link and url_tags), each problem named by its field; the assets and the ad
    /// text are checked against the seller's when it is stored.
    init(_ request: Pixecom_Campaign_V1_CreateCreativeRequest) throws {
        var violations = FieldViolations()
        func id(_ text: String, _ field: String) -> UUID? {
            guard !text.isEmpty else { return nil }
            return try? violations.check { try RequestValidation.id(text, field: field) }
        }
        let name = try violations.check { try CampaignValidation.name(request.name) }
        let format = Format(rawValue: request.format)
        if format == nil {
            violations.add(
                field: "format",
                request.format.isEmpty
                    ? "is required: SINGLE_IMAGE, SINGLE_VIDEO or CAROUSEL" : "must be SINGLE_IMAGE, SINGLE_VIDEO or CAROUSEL")
        }
        let image = id(request.imageAssetID, "image_asset_id")
        let video = id(request.videoAssetID, "video_asset_id")
        let thumbnail = id(request.thumbnailAssetID, "thumbnail_asset_id")
        func requireSlot(_ value: String, _ field: String, _ needed: Bool) {
            guard let format else { return }
            if needed && value.isEmpty { violations.add(field: field, "is required by \(format.rawValue)") }
            if !needed && !value.isEmpty { violations.add(field: field, "must be empty for \(format.rawValue)") }
        }
        requireSlot(request.imageAssetID, "image_asset_id", format == .singleImage)
        requireSlot(request.videoAssetID, "video_asset_id", format == .singleVideo)
        requireSlot(request.thumbnailAssetID, "thumbnail_asset_id", format == .singleVideo)
        var cards: [CreativeCard] = []
        if format == .carousel {
            if !(2...10).contains(request.cards.count) {
                violations.add(
                    field: "cards", "has \(request.cards.count) card\(request.cards.count == 1 ? "" : "s"); a carousel has 2 to 10")
            }
            for (index, card) in request.cards.enumerated() {
                let field = "cards[\(index)]"
                let hasImage = !card.imageAssetID.isEmpty
                let hasVideo = !card.videoAssetID.isEmpty
                if hasImage == hasVideo {
                    violations.add(field: "\(field).image_asset_id", "a card has an image, or a video with its thumbnail (one of the two)")
                }
                if hasVideo && card.thumbnailAssetID.isEmpty {
                    violations.add(field: "\(field).thumbnail_asset_id", "is required with a video")
                }
                if hasImage && !card.thumbnailAssetID.isEmpty {
                    violations.add(field: "\(field).thumbnail_asset_id", "must be empty with an image")
                }
                let headline =
                    card.headline.isEmpty
                    ? ""
                    : (try? violations.check { try RequestValidation.text(card.headline, field: "\(field).headline", maxLength: 255) })
                        ?? ""
                let description =
                    card.description_p.isEmpty
                    ? ""
                    : (try? violations.check {
                        try RequestValidation.text(card.description_p, field: "\(field).description", maxLength: 255)
                    }) ?? ""
                let link =
                    card.linkURL.isEmpty
                    ? "" : (try? violations.check { try CampaignValidation.linkURL(card.linkURL, field: "\(field).link_url") }) ?? ""
                cards.append(
                    CreativeCard(
                        imageAssetID: id(card.imageAssetID, "\(field).image_asset_id"),
                        videoAssetID: id(card.videoAssetID, "\(field).video_asset_id"),
                        thumbnailAssetID: id(card.thumbnailAssetID, "\(field).thumbnail_asset_id"), headline: headline,
                        description: description, linkURL: link))
            }
        } else if format != nil && !request.cards.isEmpty {
            violations.add(field: "cards", "must be empty for \(request.format); only a CAROUSEL has cards")
        }
        let adText = id(request.adTextID, "ad_text_id")
        let link = try violations.check { try CampaignValidation.linkURL(request.linkURL) }
        let tags = try violations.check { try URLTags.validate(request.urlTags) }
        try violations.throwIfAny()
        guard let name, let format, let link, let tags else { throw RPCError.invalidArgument(violations.violations) }
        self.init(
            id: UUID(), name: name, format: format, imageAssetID: image, videoAssetID: video, thumbnailAssetID: thumbnail, cards: cards,
            adTextID: adText, linkURL: link, urlTags: tags)
    }
}

/// Ad texts and creatives. A creative's assets are checked and share-locked in the transaction
/// that stores it, and `creative_assets` keeps an asset in use from being deleted.
struct CreativeStore: Sendable {
    let db: PostgresClient

    func insert(_ text: AdTextRecord, caller: Caller) async throws -> AdTextRecord {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await ObjectQueries.insert(
                """
                INSERT INTO ad_texts (seller_id, id, name, primary_texts, headlines, descriptions, call_to_action)
                VALUES (\(caller.sellerID), \(text.id), \(text.name), \(text.primaryTexts), \(text.headlines), \(text.descriptions),
                        \(text.callToAction))
                """,
                id: text.id, returning: AdTextRecord.self, sellerID: caller.sellerID, on: connection, logger: caller.logger)
        }
    }

    func insert(_ creative: CreativeRecord, caller: Caller) async throws -> CreativeRecord {
        let cards = String(decoding: try JSONEncoder().encode(creative.cards), as: UTF8.self)
        let slots = creative.slots
        return try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            // The assets, share-locked so that none is deleted before this creative holds it.
            let ids = Array(Set(slots.map(\.asset)))
            let rows = try await connection.query(
                "SELECT id, type FROM assets WHERE seller_id = \(caller.sellerID) AND id = ANY(\(ids)) FOR SHARE", logger: caller.logger)
            var types: [UUID: String] = [:]
            for try await (id, type) in rows.decode((UUID, String).self) { types[id] = type }
            var violations = FieldViolations()
            for slot in slots {
                guard let type = types[slot.asset] else { throw AssetRecord.table.notFound(slot.asset) }
                if type != slot.type.rawValue {
                    violations.add(
                        field: slot.field, "names \(AssetRecord.table.describe(slot.asset)), a \(type); the slot needs \(slot.type.noun)")
                }
            }
            try violations.throwIfAny()
            if let adText = creative.adTextID {
                guard
                    try await ObjectQueries.get(
                        AdTextRecord.self, sellerID: caller.sellerID, id: adText, on: connection, logger: caller.logger)
                        != nil
                else { throw AdTextRecord.table.notFound(adText) }
            }
            let stored = try await ObjectQueries.insert(
                """
                INSERT INTO creatives (
                    seller_id, id, name, format, image_asset_id, video_asset_id, thumbnail_asset_id, cards, ad_text_id, link_url, url_tags)
                VALUES (\(caller.sellerID), \(creative.id), \(creative.name), \(creative.format.rawValue), \(creative.imageAssetID),
                        \(creative.videoAssetID), \(creative.thumbnailAssetID), \(cards)::jsonb, \(creative.adTextID), \(creative.linkURL),
                        \(creative.urlTags))
                """,
                id: creative.id, returning: CreativeRecord.self, sellerID: caller.sellerID, on: connection, logger: caller.logger)
            try await connection.query(
                """
                INSERT INTO creative_assets (seller_id, creative_id, asset_id)
                SELECT \(caller.sellerID), \(creative.id), unnest(\(ids))
                """,
                logger: caller.logger)
            return stored
        }
    }

    /// Deletes the ad text; FAILED_PRECONDITION when a creative uses it, false when there was none.
    func deleteAdText(_ id: UUID, caller: Caller) async throws -> Bool {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let users = try await connection.query(
                "SELECT id FROM creatives WHERE seller_id = \(caller.sellerID) AND ad_text_id = \(id) LIMIT 1", logger: caller.logger)
            for try await creative in users.decode(UUID.self) {
                throw RPCError(
                    .failedPrecondition,
                    "\(AdTextRecord.table.describe(id)) is used by \(CreativeRecord.table.describe(creative)); delete the creatives that use it first"
                )
            }
            let rows = try await connection.query(
                "DELETE FROM ad_texts WHERE seller_id = \(caller.sellerID) AND id = \(id) RETURNING id", logger: caller.logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            return deleted
        }
    }

    /// Deletes the creative; FAILED_PRECONDITION when an ad that is not DELETED uses it (ads
    /// already deleted keep their link and url_tags), false when there was none.
    func deleteCreative(_ id: UUID, caller: Caller) async throws -> Bool {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            let users = try await connection.query(
                """
                SELECT id FROM ads WHERE seller_id = \(caller.sellerID) AND creative_id = \(id) AND status <> 'DELETED' LIMIT 1
                """,
                logger: caller.logger)
            for try await ad in users.decode(UUID.self) {
                throw RPCError(
                    .failedPrecondition,
                    "\(CreativeRecord.table.describe(id)) is used by \(AdRecord.table.describe(ad)); delete or replace its ads first")
            }
            let rows = try await connection.query(
                "DELETE FROM creatives WHERE seller_id = \(caller.sellerID) AND id = \(id) RETURNING id", logger: caller.logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            return deleted
        }
    }

    // MARK: - On the platform

    /// The platform's id of `creativeID` in the ad account, if it was published there.
    func publication(of creativeID: UUID, account: UUID, caller: Caller) async throws -> String? {
        let query: PostgresQuery = """
            SELECT external_id FROM creative_publications
            WHERE seller_id = \(caller.sellerID) AND creative_id = \(creativeID) AND ad_account_id = \(account)
            """
        return try await self.db.readAsSeller(caller.sellerID, query, logger: caller.logger) { try $0.decode(String.self) }.first
    }

    /// Keeps the platform's id of a creative published to an ad account; when another request
    /// published it first, that one's id (the caller then has an orphan to discard).
    func recordPublication(of creativeID: UUID, account: UUID, externalID: String, caller: Caller) async throws -> String {
        try await self.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await connection.query(
                """
                INSERT INTO creative_publications (seller_id, creative_id, ad_account_id, external_id)
                VALUES (\(caller.sellerID), \(creativeID), \(account), \(externalID))
                ON CONFLICT (seller_id, creative_id, ad_account_id) DO NOTHING
                """,
                logger: caller.logger)
            let rows = try await connection.query(
                """
                SELECT external_id FROM creative_publications
                WHERE seller_id = \(caller.sellerID) AND creative_id = \(creativeID) AND ad_account_id = \(account)
                """,
                logger: caller.logger)
            for try await stored in rows.decode(String.self) { return stored }
            throw CreativeRecord.table.notFound(creativeID)
        }
    }

    /// The creative as the platform takes it: its assets by hash, its ad text's words.
    func platformCreative(_ creative: CreativeRecord, caller: Caller) async throws -> PlatformCreative {
        let slots = creative.slots
        let query: PostgresQuery = """
            SELECT id, sha256 FROM assets WHERE seller_id = \(caller.sellerID) AND id = ANY(\(slots.map(\.asset)))
            """
        let hashes = Dictionary(
            try await self.db.readAsSeller(caller.sellerID, query, logger: caller.logger) { try $0.decode((UUID, Data).self) },
            uniquingKeysWith: { first, _ in first })
        func hex(_ id: UUID) -> String { hashes[id]?.hexText ?? "" }
        var text: AdTextRecord?
        if let adText = creative.adTextID {
            text = try await ObjectStore(db: self.db).get(AdTextRecord.self, id: adText, sellerID: caller.sellerID, logger: caller.logger)
        }
        return PlatformCreative(
            name: creative.name, format: creative.format.rawValue, link: creative.linkURL, urlTags: creative.urlTags,
            imageHashes: slots.filter { $0.type == .image }.map { hex($0.asset) },
            videoHashes: slots.filter { $0.type == .video }.map { hex($0.asset) },
            bodies: text?.primaryTexts ?? [], titles: text?.headlines ?? [], descriptions: text?.descriptions ?? [],
            callToActionType: text?.callToAction ?? "SHOP_NOW")
    }
}
