import Foundation
import PixEcomProtos
import ServiceKit

/// The storefront's funnel events, checked one by one where the sell page's public key is known;
/// StatsService counts the good ones. Pure: no I/O.
///
/// A batch is never refused for one bad event: the storefront cannot fix an event it already sent
/// (a clock far off, an old event replayed from a browser's storage), so the good events count and
/// each bad one comes back with its index, field and reason.
enum StorefrontEvents {
    static let maxBatch = 500
    /// How far back an event may lie: a storefront retries a failed batch for a while, not for weeks.
    static let maxAge: TimeInterval = 7 * 86_400
    /// How far ahead: a buyer's clock may run a little fast.
    static let maxAhead: TimeInterval = 5 * 60
    static let maxUTMLength = 200

    struct Checked: Sendable {
        /// The events to count, each event id once.
        var accepted: [Pixecom_Stats_V1_FunnelEvent] = []
        var rejected: [Pixecom_Orders_V1_RejectedStorefrontEvent] = []
        /// Events whose id came earlier in the same batch.
        var repeated: Int32 = 0
    }

    static func check(_ events: [Pixecom_Orders_V1_StorefrontEvent], now: Date) -> Checked {
        var checked = Checked()
        var seen = Set<UUID>()
        for (index, event) in events.enumerated() {
            func reject(_ field: String, _ reason: String) {
                checked.rejected.append(
                    Pixecom_Orders_V1_RejectedStorefrontEvent.with {
                        $0.index = Int32(index)
                        $0.eventID = String(event.eventID.prefix(64))
                        $0.field = "events[\(index)].\(field)"
                        $0.reason = reason
                    })
            }
            guard let id = UUID(canonical: event.eventID) ?? UUID(uuidString: event.eventID) else {
                reject("event_id", "must be a UUID the storefront makes once per event, got \"\(event.eventID.prefix(64))\"")
                continue
            }
            guard let step = Self.steps[event.step] else {
                reject("step", "must be PAGE_VIEW, ADD_TO_CART, CHECKOUT_STARTED or PURCHASE, got \"\(event.step.prefix(40))\"")
                continue
            }
            guard let occurredAt = Self.instant(event.occurredAt) else {
                reject("occurred_at", "must be an RFC 3339 time such as 2026-12-07T23:30:00Z, got \"\(event.occurredAt.prefix(64))\"")
                continue
            }
            if occurredAt < now.addingTimeInterval(-Self.maxAge) {
                reject("occurred_at", "is more than 7 days ago; events older than that are not counted")
                continue
            }
            if occurredAt > now.addingTimeInterval(Self.maxAhead) {
                reject("occurred_at", "is more than 5 minutes in the future; check the clock that stamped it")
                continue
            }
            let campaign = event.utmCampaign.trimmingCharacters(in: .whitespacesAndNewlines)
            let content = event.utmContent.trimmingCharacters(in: .whitespacesAndNewlines)
            if campaign.utf8.count > Self.maxUTMLength {
                reject("utm_campaign", "must be at most \(Self.maxUTMLength) bytes")
                continue
            }
            if content.utf8.count > Self.maxUTMLength {
                reject("utm_content", "must be at most \(Self.maxUTMLength) bytes")
                continue
            }
            guard seen.insert(id).inserted else {
                checked.repeated += 1
                continue
            }
            checked.accepted.append(
                Pixecom_Stats_V1_FunnelEvent.with {
                    $0.eventID = id.uuidString.lowercased()
                    $0.step = step
                    $0.occurredAt = RequestValidation.timestamp(occurredAt)
                    $0.campaignID = campaign
                    $0.adID = content
                })
        }
        return checked
    }

    static let steps: [String: Pixecom_Stats_V1_FunnelStep] = [
        "PAGE_VIEW": .pageView, "ADD_TO_CART": .addToCart, "CHECKOUT_STARTED": .checkoutStarted, "PURCHASE": .purchase,
    ]

    static func instant(_ text: String) -> Date? {
        guard !text.isEmpty, text.utf8.count <= 40 else { return nil }
        if let date = RequestValidation.instant(rfc3339: text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
