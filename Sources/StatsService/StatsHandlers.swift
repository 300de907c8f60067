import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// The StatsService RPC methods.
struct StatsHandlers: StatsServiceHandling {
    let verifier: TokenVerifier
    let campaigns: CampaignDirectory
    let insights: InsightsStore
    let revenue: RevenueStore
    let funnel: FunnelStore

    /// Upserts a batch of daily per-ad rows. Every ad must be one of the caller's: each is resolved
    /// to its campaign and ad set through CampaignService, as the caller.
    func ingestInsights(
        _ request: Pixecom_Stats_V1_IngestInsightsRequest,
        context: ServerContext
    ) async throws -> Pixecom_Stats_V1_IngestInsightsResponse {
        let claims = try await context.authenticate(with: self.verifier)
        let sellerID = try claims.sellerUUID()
        let records = try StatsValidation.insightRows(request.rows)

        var distinctAds: [UUID] = []
        var seen = Set<UUID>()
        for record in records where seen.insert(record.adID).inserted {
            distinctAds.append(record.adID)
        }
        // One call for the whole batch: CampaignService reads the caller's seller's ads only, so
        // another seller's ad is missing exactly like one that does not exist.
        let placements: [UUID: Placement]
        do {
            placements = try await self.campaigns.placements(ofAds: distinctAds, sellerID: sellerID)
        } catch let error as AdNotFound {
            let index = records.first { $0.adID == error.adID }?.row ?? 0
            let field = "rows[\(index)].ad_id"
            throw RPCError(
                .notFound,
                "\(field): ad \(error.adID.uuidString.lowercased()) not found",
                fieldViolations: [RPCError.FieldViolation(field: field, description: "ad not found")]
            )
        }
        let rows = try records.map { record in
            guard let placement = placements[record.adID] else {
                throw RPCError(.internal, "ad placement missing after lookup")
            }
            return PlacedInsight(record: record, placement: placement)
        }
        // Spend in another currency than the ad account's would make the campaign's sums meaningless.
        try StatsValidation.requireAccountCurrencies(rows)
        try await self.insights.upsert(rows, sellerID: sellerID, logger: context.logger)
        context.logger.info(
            "stats.insights.ingested",
            metadata: ["seller.id": "\(sellerID)", "insights.rows": "\(rows.count)", "insights.ads": "\(distinctAds.count)"]
        )
        var response = Pixecom_Stats_V1_IngestInsightsResponse()
        response.upserted = Int32(rows.count)
        return response
    }

    /// Internal: applies an order revenue event from OrderService at most once. The seller id comes
    /// from the event, trusted because the caller proved it is OrderService with its certificate.
    func recordOrderEvent(
        _ request: Pixecom_Stats_V1_OrderEvent,
        context: ServerContext
    ) async throws -> Pixecom_Stats_V1_RecordOrderEventResponse {
        let event = try StatsValidation.orderEvent(request)
        let attribution = try await self.attribution(of: event)
        let applied = try await self.revenue.record(event, attribution: attribution, logger: context.logger)
        context.logger.info(
            applied ? "stats.order_event.applied" : "stats.order_event.duplicate",
            metadata: [
                "seller.id": "\(event.sellerID)",
                "event.id": "\(event.eventID)",
                "order.id": "\(event.orderID)",
                "event.kind": "\(event.kind.rawValue)",
            ]
        )
        var response = Pixecom_Stats_V1_RecordOrderEventResponse()
        response.applied = applied
        return response
    }

    /// Internal: a sell page's storefront funnel events from OrderService, which checked the page's
    /// public key and each event; the seller and page come from the batch, trusted because the
    /// caller proved it is OrderService with its certificate. The ads and campaigns the events
    /// name are looked up in one call (an id the seller does not have counts without an ad), then
    /// the events are stored, each event id once.
    func recordFunnelEvents(_ request: Pixecom_Stats_V1_FunnelEventBatch, context: ServerContext) async throws
        -> Pixecom_Stats_V1_RecordFunnelEventsResponse
    {
        let batch = try StatsValidation.funnelBatch(request)
        let adIDs = Array(Set(batch.events.compactMap { UUID(canonical: $0.adID.lowercased()) }))
        let campaignIDs = Array(Set(batch.events.compactMap { UUID(canonical: $0.campaignID.lowercased()) }))
        let found =
            adIDs.isEmpty && campaignIDs.isEmpty
            ? (ads: [:], campaigns: [:]) : try await self.campaigns.placements(sellerID: batch.sellerID, ads: adIDs, campaigns: campaignIDs)
        let events = batch.events.map { event in
            var placed = PlacedFunnelEvent(eventID: event.eventID, step: event.step, occurredAt: event.occurredAt)
            if let ad = UUID(canonical: event.adID.lowercased()), let placement = found.ads[ad] {
                placed.campaignKey = placement.campaignID.uuidString.lowercased()
                placed.adSetKey = placement.adSetID?.uuidString.lowercased() ?? ""
                placed.adKey = ad.uuidString.lowercased()
                placed.timeZone = placement.timeZone
            } else if let campaign = UUID(canonical: event.campaignID.lowercased()), let placement = found.campaigns[campaign] {
                placed.campaignKey = campaign.uuidString.lowercased()
                placed.timeZone = placement.timeZone
            }
            return placed
        }
        let (applied, duplicates) = try await self.funnel.record(
            events, sellerID: batch.sellerID, sellPageID: batch.sellPageID, currency: batch.currency, logger: context.logger)
        context.logger.info(
            "stats.funnel_events.recorded",
            metadata: [
                "seller.id": "\(batch.sellerID)", "sell_page.id": "\(batch.sellPageID)", "events.applied": "\(applied)",
                "events.duplicates": "\(duplicates)",
            ])
        var response = Pixecom_Stats_V1_RecordFunnelEventsResponse()
        response.applied = Int32(applied)
        response.duplicates = Int32(duplicates)
        return response
    }

    /// Per-day spend and revenue of one of the caller's campaigns, with ratios from the sums.
    func getCampaignStats(
        _ request: Pixecom_Stats_V1_GetCampaignStatsRequest,
        context: ServerContext
    ) async throws -> Pixecom_Stats_V1_CampaignStats {
        let claims = try await context.authenticate(with: self.verifier)
        let sellerID = try claims.sellerUUID()
        let query = try StatsValidation.statsQuery(request)
        let currency = try await self.campaigns.placement(ofCampaign: query.campaignID, sellerID: sellerID).currency

        let campaignKey = query.campaignID.uuidString.lowercased()
        let spend = try await self.insights.dailySpend(
            sellerID: sellerID,
            campaignID: query.campaignID,
            since: query.sinceDay,
            until: query.untilDay,
            logger: context.logger
        )
        let revenue = try await self.revenue.dailyRevenue(
            sellerID: sellerID,
            campaignID: campaignKey,
            since: query.sinceDay,
            until: query.untilDay,
            logger: context.logger
        )
        return try StatsReport.build(
            campaignID: campaignKey,
            currency: currency,
            since: query.since,
            until: query.until,
            spend: spend,
            revenue: revenue
        )
    }

    /// Where an order event counts, from the ids its order's UTM tags carry, looked up in
    /// CampaignService before any transaction opens. The ad, when the seller has it, decides the
    /// campaign and ad set (a link whose utm_campaign disagrees with its ad is the link's mistake);
    /// else the campaign, when the seller has it; else the order's utm_campaign text as it came.
    func attribution(of event: RevenueEvent) async throws -> RevenueAttribution {
        let adID = UUID(uuidString: event.adID)
        let campaignID = UUID(uuidString: event.campaignID)
        let found = try await self.campaigns.placements(
            sellerID: event.sellerID, ads: adID.map { [$0] } ?? [], campaigns: campaignID.map { [$0] } ?? [])
        if let adID, let ad = found.ads[adID] {
            return RevenueAttribution(
                campaignKey: ad.campaignID.uuidString.lowercased(),
                adSetKey: ad.adSetID?.uuidString.lowercased() ?? "",
                adKey: adID.uuidString.lowercased(),
                timeZone: ad.timeZone
            )
        }
        if let campaignID, let campaign = found.campaigns[campaignID] {
            return RevenueAttribution(campaignKey: campaignID.uuidString.lowercased(), timeZone: campaign.timeZone)
        }
        return RevenueAttribution(campaignKey: event.campaignID)
    }
}
