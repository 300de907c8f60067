import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// One validated insights row: an ad's numbers for one day.
struct InsightRecord: Sendable, Hashable {
    var adID: UUID
    /// "YYYY-MM-DD", already checked to be a real calendar day.
    var day: String
    var spend: Int64
    var currency: String
    var impressions: Int64
    var clicks: Int64
    /// Platform-reported purchases, counted once across the overlapping action types.
    var purchases: Int64 = 0
    /// Its index in the request, to name it in an error.
    var row: Int = 0
}

/// A validated order revenue event from OrderService.
struct RevenueEvent: Sendable, Hashable {
    enum Kind: String, Sendable, CaseIterable {
        case paid = "PAID"
        case refunded = "REFUNDED"
        case chargedBack = "CHARGED_BACK"
        case chargebackReversed = "CHARGEBACK_REVERSED"
    }

    var eventID: UUID
    var sellerID: UUID
    var orderID: UUID
    var kind: Kind
    var amount: Int64
    var currency: String
    /// The order's utm_campaign, normalised (lower-case when it is a UUID); "" when unattributed.
    var campaignID: String
    /// The order's utm_content (the ad), normalised like `campaignID`; "" when absent.
    var adID: String = ""
    /// The sell page's id, lower case; "" when not known.
    var sellPageID: String = ""
    /// The day the order was paid in UTC, "YYYY-MM-DD": the bucket's day only when `saleAt` is nil.
    var attributedDay: String
    /// When the order was paid; its day in the ad account's time zone is the bucket's day.
    var saleAt: Date? = nil
    var occurredAt: Date? = nil
}

/// A validated batch of storefront funnel events from OrderService.
struct FunnelBatch: Sendable {
    struct Event: Sendable, Hashable {
        var eventID: UUID
        var step: PlacedFunnelEvent.Step
        var occurredAt: Date
        /// utm_campaign and utm_content as the storefront kept them.
        var campaignID: String
        var adID: String
    }

    var sellerID: UUID
    var sellPageID: UUID
    var currency: String
    var events: [Event]
}

/// A validated GetCampaignStats request.
struct StatsQuery: Sendable {
    var campaignID: UUID
    var since: Date
    var until: Date
    var sinceDay: String
    var untilDay: String
}

/// Parsing of StatsService requests; every failure is INVALID_ARGUMENT naming the field.
enum StatsValidation {
    static let maxRowsPerBatch = 5000
    /// A year, leap day included.
    static let maxRangeDays = 366
    static let maxAttributionLength = 200

    static func insightRows(_ rows: [Pixecom_Stats_V1_InsightRow]) throws -> [InsightRecord] {
        guard !rows.isEmpty else { throw RPCError.invalidArgument(field: "rows", "must contain at least one row") }
        guard rows.count <= Self.maxRowsPerBatch else {
            throw RPCError.invalidArgument(field: "rows", "must contain at most \(Self.maxRowsPerBatch) rows, got \(rows.count)")
        }
        var violations = FieldViolations()
        var validDays = Set<String>()  // a batch holds few distinct days; parse each once
        var firstRow: [InsightKey: Int] = [:]
        var records: [InsightRecord] = []
        records.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            // Built only for an error (the validators take their field names lazily).
            func field(_ name: String) -> String { "rows[\(index)].\(name)" }
            var day: String?
            if validDays.contains(row.date) {
                day = row.date
            } else if try violations.check({ try RequestValidation.day(row.date, field: field("date")) }) != nil {
                validDays.insert(row.date)
                day = row.date
            }
            let adID = try violations.check { try RequestValidation.id(row.adID, field: field("ad_id")) }
            let currency = try violations.check { try RequestValidation.currency(row.currency, field: field("currency")) }
            if row.spend < 0 { violations.add(field: field("spend"), "must not be negative (minor units)") }
            if row.impressions < 0 { violations.add(field: field("impressions"), "must not be negative") }
            if row.clicks < 0 { violations.add(field: field("clicks"), "must not be negative") }
            let purchases = Self.purchases(row.actions, field: field("actions"), violations: &violations)
            guard let day, let adID, let currency else { continue }
            let key = InsightKey(adID: adID, day: day)
            if let first = firstRow[key] {
                violations.add(field: field("date"), "repeats the ad_id and date of rows[\(first)]; send one row per ad and day")
                continue
            }
            firstRow[key] = index
            records.append(
                InsightRecord(
                    adID: adID,
                    day: day,
                    spend: row.spend,
                    currency: currency,
                    impressions: row.impressions,
                    clicks: row.clicks,
                    purchases: purchases,
                    row: index
                )
            )
        }
        try violations.throwIfAny()
        return records
    }

    /// Meta reports one purchase under several action types at once; the first of these present
    /// is the count (never their sum).
    static let purchaseActionTypes = ["omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase"]
    static let maxActionsPerRow = 100

    /// The purchases among a row's actions, counted once; each bad action is a violation naming it.
    static func purchases(
        _ actions: [Pixecom_Stats_V1_InsightAction], field: @autoclosure () -> String, violations: inout FieldViolations
    ) -> Int64 {
        guard !actions.isEmpty else { return 0 }
        guard actions.count <= Self.maxActionsPerRow else {
            violations.add(field: field(), "must hold at most \(Self.maxActionsPerRow) actions, got \(actions.count)")
            return 0
        }
        var byType: [String: Int64] = [:]
        for (index, action) in actions.enumerated() {
            func actionField() -> String { "\(field())[\(index)]" }
            if action.actionType.isEmpty || action.actionType.utf8.count > 100 {
                violations.add(field: "\(actionField()).action_type", "must be 1 to 100 characters")
            } else if byType[action.actionType] != nil {
                violations.add(field: "\(actionField()).action_type", "repeats \"\(action.actionType)\"; send each type once per row")
            }
            if action.value < 0 { violations.add(field: "\(actionField()).value", "must not be negative") }
            byType[action.actionType] = action.value
        }
        return Self.purchaseActionTypes.lazy.compactMap { byType[$0] }.first ?? 0
    }

    /// Every row must be in the currency of its ad's ad account (from its placement); each bad
    /// one is named by its index in the request.
    static func requireAccountCurrencies(_ rows: [PlacedInsight]) throws {
        var violations = FieldViolations()
        for row in rows where row.record.currency != row.placement.currency {
            violations.add(
                field: "rows[\(row.record.row)].currency",
                "must be \(row.placement.currency), the currency of ad \(row.record.adID.uuidString.lowercased())'s ad account, "
                    + "got \(row.record.currency)"
            )
        }
        try violations.throwIfAny()
    }

    static func orderEvent(_ event: Pixecom_Stats_V1_OrderEvent) throws -> RevenueEvent {
        var violations = FieldViolations()
        let eventID = try violations.check { try RequestValidation.id(event.eventID, field: "event_id") }
        let sellerID = try violations.check { try RequestValidation.id(event.sellerID, field: "seller_id") }
        let orderID = try violations.check { try RequestValidation.id(event.orderID, field: "order_id") }
        var kind: RevenueEvent.Kind?
        switch event.kind {
        case .paid: kind = .paid
        case .refunded: kind = .refunded
        case .chargedBack: kind = .chargedBack
        case .chargebackReversed: kind = .chargebackReversed
        case .unspecified, .UNRECOGNIZED:
            violations.add(field: "kind", "must be one of \(RevenueEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if event.amount < 0 { violations.add(field: "amount", "must not be negative (minor units)") }
        // The shape only, not the ISO 4217 table: the order is already stored, and one taken before
        // codes were checked must still reach the stats (a report keeps it out of any campaign whose
        // currency differs) rather than be refused on every redelivery.
        var currency: String?
        if event.currency.count == 3, event.currency.allSatisfy({ $0.isASCII && $0.isUppercase }) {
            currency = event.currency
        } else {
            violations.add(field: "currency", "must be three upper-case letters, got \"\(event.currency.prefix(16))\"")
        }
        let campaignID = Self.normalisedAttribution(event.campaignID)
        if campaignID.count > Self.maxAttributionLength {
            violations.add(field: "campaign_id", "must be at most \(Self.maxAttributionLength) characters")
        }
        if event.adID.count > Self.maxAttributionLength {
            violations.add(field: "ad_id", "must be at most \(Self.maxAttributionLength) characters")
        }
        let adID = Self.normalisedAttribution(event.adID)
        var sellPageID = ""
        if !event.sellPageID.isEmpty {
            sellPageID =
                try violations.check { try RequestValidation.id(event.sellPageID, field: "sell_page_id") }?.uuidString.lowercased() ?? ""
        }
        let saleAt = try violations.check { try Self.instant(event.saleAt, field: "sale_at") } ?? nil
        let occurredAt = try violations.check { try Self.instant(event.occurredAt, field: "occurred_at") } ?? nil
        var day: Date?
        if saleAt == nil {
            day = try violations.check { try RequestValidation.day(event.attributedDate, field: "attributed_date") }
        }
        try violations.throwIfAny()
        guard let eventID, let sellerID, let orderID, let kind, let currency, saleAt != nil || day != nil else {
            throw RPCError(.internal, "order event validation left a field unset")
        }
        return RevenueEvent(
            eventID: eventID,
            sellerID: sellerID,
            orderID: orderID,
            kind: kind,
            amount: event.amount,
            currency: currency,
            campaignID: campaignID,
            adID: adID,
            sellPageID: sellPageID,
            attributedDay: event.attributedDate,
            saleAt: saleAt,
            occurredAt: occurredAt
        )
    }

    static func statsQuery(_ request: Pixecom_Stats_V1_GetCampaignStatsRequest) throws -> StatsQuery {
        var violations = FieldViolations()
        let campaignID = try violations.check { try RequestValidation.id(request.campaignID, field: "campaign_id") }
        let since = try violations.check { try RequestValidation.day(request.since, field: "since") }
        let until = try violations.check { try RequestValidation.day(request.until, field: "until") }
        try violations.throwIfAny()
        guard let campaignID, let since, let until else {
            throw RPCError(.internal, "stats query validation left a field unset")
        }
        guard since <= until else {
            throw RPCError.invalidArgument(field: "until", "must not be before since (\(request.since))")
        }
        let days = StatsReport.dayCount(from: since, through: until)
        guard days <= Self.maxRangeDays else {
            throw RPCError.invalidArgument(field: "until", "range covers \(days) days; at most \(Self.maxRangeDays) are allowed")
        }
        return StatsQuery(campaignID: campaignID, since: since, until: until, sinceDay: request.since, untilDay: request.until)
    }

    /// An RFC 3339 instant, or nil when empty.
    /// OrderService checked every event before sending it; a batch that is still malformed is
    /// refused whole, naming the first fields at fault.
    static func funnelBatch(_ request: Pixecom_Stats_V1_FunnelEventBatch) throws -> FunnelBatch {
        var violations = FieldViolations()
        let sellerID = try violations.check { try RequestValidation.id(request.sellerID, field: "seller_id") }
        let sellPageID = try violations.check { try RequestValidation.id(request.sellPageID, field: "sell_page_id") }
        let currency = try violations.check { try RequestValidation.currency(request.currency) }
        if request.events.isEmpty || request.events.count > 500 {
            violations.add(field: "events", "must hold 1-500 events, got \(request.events.count)")
        }
        var events: [FunnelBatch.Event] = []
        events.reserveCapacity(request.events.count)
        for (index, event) in request.events.enumerated() {
            let id = try violations.check { try RequestValidation.id(event.eventID, field: "events[\(index)].event_id") }
            let step = PlacedFunnelEvent.Step(event.step)
            if step == nil {
                violations.add(field: "events[\(index)].step", "must be PAGE_VIEW, ADD_TO_CART, CHECKOUT_STARTED or PURCHASE")
            }
            let occurredAt = try violations.check { try Self.instant(event.occurredAt, field: "events[\(index)].occurred_at") } ?? nil
            if event.occurredAt.isEmpty { violations.add(field: "events[\(index)].occurred_at", "is required") }
            if let id, let step, let occurredAt {
                events.append(
                    FunnelBatch.Event(
                        eventID: id, step: step, occurredAt: occurredAt, campaignID: String(event.campaignID.prefix(200)),
                        adID: String(event.adID.prefix(200))))
            }
        }
        try violations.throwIfAny()
        guard let sellerID, let sellPageID, let currency else { throw RPCError(.internal, "funnel validation left a field unset") }
        return FunnelBatch(sellerID: sellerID, sellPageID: sellPageID, currency: currency, events: events)
    }

    static func instant(_ text: String, field: String) throws -> Date? {
        guard !text.isEmpty else { return nil }
        if let date = RequestValidation.instant(rfc3339: text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw RPCError.invalidArgument(
            field: field, "must be an RFC 3339 time such as 2026-12-07T23:30:00Z, got \"\(text.prefix(64))\"")
    }

    /// UTM values are case-sensitive in analytics tools; a campaign id that is a UUID is stored in
    /// its canonical lower-case form so it matches the campaign whatever case the link used.
    static func normalisedAttribution(_ value: String) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if let id = UUID(uuidString: trimmed) { return id.uuidString.lowercased() }
        return trimmed
    }
}

/// The natural key of an insights row.
private struct InsightKey: Hashable {
    var adID: UUID
    var day: String
}
