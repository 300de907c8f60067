import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit
import Testing

@testable import OrderService
@testable import StatsService

/// The storefront funnel: events checked one by one at OrderService (which holds the public key),
/// counted once per event id by StatsService on the day of the sending ad's account, and read at
/// every level with conversion rates computed from the sums.
@Suite("Storefront funnel", .serialized)
struct FunnelTests {
    static let logger = Logger(label: "test.funnel")

    static func event(
        _ step: String, at time: String, ad: String = "", campaign: String = "", id: String = UUID().uuidString.lowercased()
    ) -> [String: Any] {
        ["eventId": id, "step": step, "occurredAt": time, "utmContent": ad, "utmCampaign": campaign]
    }

    @Test("each bad event is refused on its own with its field and reason; repeats within a batch count once; the good ones are normalised")
    func eventChecks() throws {
        let now = Date(timeIntervalSince1970: 1_796_169_600)  // 2026-12-02T00:00:00Z
        let id = UUID()
        func event(_ change: (inout Pixecom_Orders_V1_StorefrontEvent) -> Void) -> Pixecom_Orders_V1_StorefrontEvent {
            var event = Pixecom_Orders_V1_StorefrontEvent.with {
                $0.eventID = UUID().uuidString
                $0.step = "PAGE_VIEW"
                $0.occurredAt = "2026-12-01T10:00:00Z"
            }
            change(&event)
            return event
        }
        let events = [
            event {
                $0.eventID = id.uuidString; $0.utmContent = "  AD-7 "
            },
            event { $0.eventID = "not-a-uuid" },
            event { $0.step = "page_view" },
            event { $0.occurredAt = "yesterday" },
            event { $0.occurredAt = "2026-11-01T10:00:00Z" },
            event { $0.occurredAt = "2026-12-09T10:00:00Z" },
            event { $0.utmCampaign = String(repeating: "c", count: 201) },
            event {
                $0.eventID = id.uuidString.lowercased(); $0.step = "PURCHASE"
            },
            event {
                $0.step = "CHECKOUT_STARTED"; $0.occurredAt = "2026-12-01T10:00:00.250+01:00"
            },
        ]
        let checked = StorefrontEvents.check(events, now: now)
        #expect(
            checked.rejected.map(\.field) == [
                "events[1].event_id", "events[2].step", "events[3].occurred_at", "events[4].occurred_at", "events[5].occurred_at",
                "events[6].utm_campaign",
            ])
        try #require(checked.rejected.count == 6 && checked.accepted.count == 2)
        #expect(checked.rejected.map(\.index) == [1, 2, 3, 4, 5, 6])
        #expect(checked.rejected[0].reason.contains("UUID") && checked.rejected[3].reason.contains("7 days"))
        #expect(checked.rejected[4].reason.contains("future"))
        #expect(checked.repeated == 1, "event 7 repeats event 0's id")
        #expect(checked.accepted[0].eventID == id.uuidString.lowercased() && checked.accepted[0].adID == "AD-7")
        #expect(checked.accepted[0].step == .pageView && checked.accepted[1].step == .checkoutStarted)
        #expect(checked.accepted[1].occurredAt == "2026-12-01T09:00:00.250Z", "times are passed on in UTC")
    }

    @Test(
        "through the edge: a page's events count once per id on the LA day of the ad's account, at the sell page, ad and ads manager levels, with CR1-CR3; its orders' revenue at the page"
    )
    func funnelThroughTheSystem() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let a = try await EndToEndTests.register(edge, name: "Funnel")
            let b = try await EndToEndTests.register(edge, name: "Bystander")
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "LA", "currency": "USD", "timeZone": "America/Los_Angeles"], token: a.token)
            let campaign = try await EndToEndTests.create(
                edge, "/v1/campaigns",
                ["adAccountId": account, "name": "Lamps", "objective": "OUTCOME_SALES", "dailyBudget": "50000", "status": "ACTIVE"],
                token: a.token)
            let adSet = try await EndToEndTests.create(
                edge, "/v1/ad-sets", ["campaignId": campaign, "name": "West", "targeting": ["countries": ["US"]], "status": "ACTIVE"],
                token: a.token)
            let ad = try await EndToEndTests.create(
                edge, "/v1/ads", ["adSetId": adSet, "name": "Lamp", "linkUrl": "https://shop.example.com/lamp", "status": "ACTIVE"],
                token: a.token)
            let created = try await edge.send(
                .POST, "/v1/sell-pages",
                json: [
                    "slug": "lamp", "title": "Lamp", "currency": "USD", "variants": [["sku": "LAMP", "title": "Lamp", "price": "2500"]],
                ], token: a.token)
            try #require(created.status == 200, "\(created.text)")
            let page = JSONValues.string(created.json["id"])
            let key = JSONValues.string(created.json["publicKey"])

            // 23:30 yesterday in Los Angeles: 07:30 or 08:30 today in UTC.
            var pacific = Calendar(identifier: .gregorian)
            pacific.timeZone = TimeZone(identifier: "America/Los_Angeles")!
            let lateLastNight = pacific.startOfDay(for: Date()).addingTimeInterval(-30 * 60)
            let localDay = JSONValues.utcDay(ofTimestamp: RequestValidation.timestamp(lateLastNight.addingTimeInterval(-12 * 3600)))
            let late = RequestValidation.timestamp(lateLastNight)
            let now = RequestValidation.timestamp(Date())
            let today = JSONValues.utcDay(ofTimestamp: now)
            #expect(JSONValues.utcDay(ofTimestamp: late) != localDay, "the instant's UTC day is not its LA day")

            func send(_ events: [[String: Any]], key: String = key) async throws -> EdgeHTTPClient.Reply {
                try await edge.send(.POST, "/v1/storefront/\(key)/events", json: ["events": events])
            }
            let draft = try await send([Self.event("PAGE_VIEW", at: now)])
            #expect(draft.status == 422, "a draft page records no events: \(draft.text)")
            let published = try await edge.send(.PATCH, "/v1/sell-pages/\(page)", json: ["status": "PUBLISHED"], token: a.token)
            try #require(JSONValues.string(published.json["status"]) == "PUBLISHED", "\(published.text)")
            #expect(try await send([Self.event("PAGE_VIEW", at: now)], key: "pk_" + String(repeating: "q", count: 24)).status == 404)
            let badKey = try await send([Self.event("PAGE_VIEW", at: now)], key: "nope")
            #expect(badKey.status == 400 && PaymentTests.field(badKey) == "public_key", "\(badKey.text)")
            let empty = try await send([])
            #expect(empty.status == 400 && PaymentTests.field(empty) == "events", "\(empty.text)")

            let repeated = UUID().uuidString.lowercased()
            let batch: [[String: Any]] = [
                Self.event("PAGE_VIEW", at: late, ad: ad.uppercased(), campaign: campaign, id: repeated),
                Self.event("PAGE_VIEW", at: late, ad: ad, campaign: campaign),
                Self.event("PAGE_VIEW", at: late, ad: ad),
                Self.event("ADD_TO_CART", at: late, ad: ad),
                Self.event("ADD_TO_CART", at: late, ad: ad),
                Self.event("CHECKOUT_STARTED", at: late, ad: ad),
                Self.event("PURCHASE", at: late, ad: ad),
                Self.event("PAGE_VIEW", at: now, ad: "spring-lamp-ad"),
                Self.event("PAGE_VIEW", at: late, ad: ad, id: repeated),
                Self.event("PAGE_VIEW", at: "2020-01-01T00:00:00Z", ad: ad),
                Self.event("BOUNCE", at: late, ad: ad),
            ]
            let first = try await send(batch)
            try #require(first.status == 200, "\(first.text)")
            #expect(JSONValues.int64(first.json["accepted"]) == 8 && JSONValues.int64(first.json["duplicates"]) == 1, "\(first.text)")
            let rejected = first.json["rejected"] as? [[String: Any]] ?? []
            #expect(rejected.map { JSONValues.string($0["field"]) } == ["events[9].occurred_at", "events[10].step"], "\(first.text)")
            #expect(rejected.map { JSONValues.int64($0["index"]) } == [9, 10])
            let again = try await send(batch)
            #expect(JSONValues.int64(again.json["accepted"]) == 0 && JSONValues.int64(again.json["duplicates"]) == 9, "\(again.text)")

            func stats(_ query: String, as seller: EndToEndTests.Seller = a) async throws -> [String: [String: Any]] {
                let reply = try await edge.send(.GET, "/v1/stats?\(query)&since=\(localDay)&until=\(today)", token: seller.token)
                try #require(reply.status == 200, "\(query): \(reply.text)")
                let groups = reply.json["currencies"] as? [[String: Any]] ?? []
                return EndToEndTests.days(groups.first ?? [:])
            }
            let pageDays = try await stats("level=SELL_PAGE&id=\(page)")
            let night = pageDays[localDay] ?? [:]
            #expect(JSONValues.int64(night["pageViews"]) == 3 && JSONValues.int64(night["addToCarts"]) == 2, "\(night)")
            #expect(JSONValues.int64(night["checkoutsStarted"]) == 1 && JSONValues.int64(night["storefrontPurchases"]) == 1, "\(night)")
            #expect(JSONValues.double(night["cr1"]).map { abs($0 - 2.0 / 3.0) < 1e-9 } == true, "\(night)")
            #expect(JSONValues.double(night["cr2"]) == 0.5 && JSONValues.double(night["cr3"]) == 1, "\(night)")
            let todays = pageDays[today] ?? [:]
            #expect(JSONValues.int64(todays["pageViews"]) == 1, "the view with no ad of the seller counts on its UTC day: \(todays)")
            #expect(todays["cr2"] == nil, "a rate over zero is absent: \(todays)")
            let adDays = try await stats("level=AD&id=\(ad)")
            #expect(JSONValues.int64(adDays[localDay]?["pageViews"]) == 3, "\(adDays)")
            let campaignDays = try await stats("level=CAMPAIGN&id=\(campaign)")
            #expect(JSONValues.int64(campaignDays[localDay]?["storefrontPurchases"]) == 1, "\(campaignDays)")

            let manager = try await edge.send(
                .GET, "/v1/ads-manager?level=AD&since=\(localDay)&until=\(today)&sort=-page_views&filter=cr1>0.5", token: a.token)
            let rows = manager.json["rows"] as? [[String: Any]] ?? []
            #expect(rows.map { JSONValues.string($0["id"]) } == [ad], "\(manager.text)")
            #expect(JSONValues.int64((rows.first?["metrics"] as? [String: Any])?["addToCarts"]) == 2, "\(manager.text)")

            // B reads A's page id as nothing: every read is scoped to the caller.
            let asB = try await edge.send(.GET, "/v1/stats?level=SELL_PAGE&id=\(page)&since=\(localDay)&until=\(today)", token: b.token)
            #expect(asB.status == 200 && (asB.json["currencies"] as? [Any] ?? []).isEmpty, "\(asB.text)")

            // An order placed and paid on the page counts at the page, with its ad.
            let checkout = try await edge.send(
                .POST, "/v1/storefront/\(key)/checkout",
                json: [
                    "items": [["sku": "LAMP", "quantity": 2]],
                    "customer": ["email": "ann@example.com"],
                    "shippingAddress": [
                        "name": "Ann", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US",
                    ],
                    "attribution": ["landingUrl": "https://shop.example.com/lamp?utm_campaign=\(campaign)&utm_content=\(ad)"],
                ], headers: [("Idempotency-Key", "funnel-order")])
            try #require(checkout.status == 200, "\(checkout.text)")
            let order = JSONValues.string(checkout.json["orderId"])
            #expect(try await edge.send(.POST, "/v1/orders/\(order)/pay", json: [:], token: a.token).status == 200)
            var revenue: Int64 = 0
            for _ in 0..<300 where revenue == 0 {
                let days = try await stats("level=SELL_PAGE&id=\(page)")
                revenue = days.values.reduce(0) { $0 + JSONValues.int64($1["revenue"]) }
                if revenue == 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(revenue == 5000, "the paid order's revenue counts at its sell page")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        let unclean = await system.stop()
        #expect(unclean.isEmpty, "\(unclean)")
    }

    @Test("two replicas recording overlapping batches of one page's events at once: every aggregate equals a count of the stored events")
    func concurrentBatches() async throws {
        let database = try await ServiceDatabase.create(service: "stats", sources: "StatsService", jobQueue: true)
        try await database.withAppClient(connections: 6) { db in
            let store = FunnelStore(db: db)
            let sellerID = UUID()
            let pages = [UUID(), UUID()]
            let ads = ["", UUID().uuidString.lowercased(), UUID().uuidString.lowercased()]
            let steps = PlacedFunnelEvent.Step.allCases
            let base = Date(timeIntervalSince1970: 1_796_000_000)
            // 600 distinct events; each replica sends half of them plus a third it shares with the other.
            let events = (0..<600).map { n in
                PlacedFunnelEvent(
                    eventID: UUID(), step: steps[n % 4], occurredAt: base.addingTimeInterval(Double(n % 7) * 9_000),
                    campaignKey: "", adSetKey: "", adKey: ads[n % 3], timeZone: n % 2 == 0 ? "America/Los_Angeles" : nil)
            }
            let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for replica in 0..<2 {
                    group.addTask {
                        var applied = 0
                        var duplicates = 0
                        let mine = events.enumerated().filter { $0.offset % 2 == replica || $0.offset % 3 == 0 }.map(\.element)
                        // A shared event may reach the two pages, one from each replica: the first
                        // stored wins and the other is a duplicate, as for any repeated id.
                        for (index, start) in stride(from: 0, to: mine.count, by: 50).enumerated() {
                            let part = Array(mine[start..<min(start + 50, mine.count)])
                            let result = try await store.record(
                                part, sellerID: sellerID, sellPageID: pages[(index + replica) % 2], currency: "USD", logger: Self.logger)
                            applied += result.applied
                            duplicates += result.duplicates
                        }
                        return (applied, duplicates)
                    }
                }
                var total = (0, 0)
                for try await (applied, duplicates) in group { total = (total.0 + applied, total.1 + duplicates) }
                return total
            }
            #expect(results.0 == 600, "every event applied exactly once across the replicas")
            #expect(results.1 == 200, "the shared third was a duplicate for one of them")
            func lines(_ query: PostgresQuery) async throws -> [String] {
                try await TestDatabases.withClient(database.urls.admin) { admin in
                    var out: [String] = []
                    for try await line in try await admin.query(query, logger: Self.logger).decode(String.self) { out.append(line) }
                    return out.sorted()
                }
            }
            let stored = try await lines(
                """
                SELECT concat_ws(' ', sell_page_id, ad_key, day, currency, page_views, add_to_carts, checkouts_started, purchases)
                FROM sell_page_daily_funnel WHERE seller_id = \(sellerID)
                """)
            let recomputed = try await lines(
                """
                SELECT concat_ws(' ', sell_page_id, ad_key, day, currency, count(*) FILTER (WHERE step = 'PAGE_VIEW'),
                                 count(*) FILTER (WHERE step = 'ADD_TO_CART'), count(*) FILTER (WHERE step = 'CHECKOUT_STARTED'),
                                 count(*) FILTER (WHERE step = 'PURCHASE'))
                FROM funnel_events WHERE seller_id = \(sellerID)
                GROUP BY sell_page_id, ad_key, day, currency
                """)
            #expect(!stored.isEmpty && stored == recomputed)
            // Days are the ad account's local days: 1_796_000_000 is 2026-11-30T00:53:20Z, 16:53 on
            // the 29th in Los Angeles; events without a zone count on the UTC day.
            let laDays = try await lines(
                "SELECT DISTINCT day::text FROM funnel_events WHERE seller_id = \(sellerID) AND occurred_at = to_timestamp(1796000000)")
            #expect(laDays == ["2026-11-29", "2026-11-30"], "\(laDays)")
        }
    }
}
