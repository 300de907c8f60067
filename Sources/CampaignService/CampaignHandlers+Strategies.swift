import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Ad strategies: saved presets an ad set is created from (`strategy_id` on CreateAdSet and the
/// wizard). They live only here; the ad platform never sees them.
extension CampaignHandlers {
    static let strategyPaths = [
        "name", "daily_budget", "lifetime_budget", "bid_strategy", "bid_amount", "roas_average_floor", "optimization_goal",
        "billing_event", "targeting",
    ]

    func createAdStrategy(
        _ request: Pixecom_Campaign_V1_CreateAdStrategyRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdStrategy {
        let caller = try await self.caller(context)
        let spec = try AdStrategySpec(
            name: request.name, dailyBudget: request.dailyBudget, lifetimeBudget: request.lifetimeBudget, bidStrategy: request.bidStrategy,
            bidAmount: request.bidAmount, roasAverageFloor: request.roasAverageFloor, optimizationGoal: request.optimizationGoal,
            billingEvent: request.billingEvent, targeting: request.hasTargeting ? request.targeting : nil)
        let strategy = try await self.objects.insertStrategy(spec, sellerID: caller.sellerID, logger: caller.logger)
        return strategy.message
    }

    func getAdStrategy(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdStrategy {
        try await self.get(AdStrategyRecord.self, request, context: context).message
    }

    func listAdStrategies(
        _ request: Pixecom_Campaign_V1_ListRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_ListAdStrategiesResponse {
        let page = try await self.listTopLevel(AdStrategyRecord.self, request, plural: "ad strategies", context: context)
        return .with {
            $0.adStrategies = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    /// The named values replace the strategy's; the result is checked as a whole. Ad sets made
    /// from it keep theirs.
    func updateAdStrategy(
        _ request: Pixecom_Campaign_V1_UpdateAdStrategyRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdStrategy {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let mask = try UpdateMask(request.updateMask, allowed: Self.strategyPaths)
        var merged = try await self.objects.get(AdStrategyRecord.self, id: id, sellerID: caller.sellerID, logger: caller.logger).message
        if mask.contains("name") { merged.name = request.name }
        if mask.contains("daily_budget") { merged.dailyBudget = request.dailyBudget }
        if mask.contains("lifetime_budget") { merged.lifetimeBudget = request.lifetimeBudget }
        if mask.contains("bid_strategy") { merged.bidStrategy = request.bidStrategy }
        if mask.contains("bid_amount") { merged.bidAmount = request.bidAmount }
        if mask.contains("roas_average_floor") { merged.roasAverageFloor = request.roasAverageFloor }
        if mask.contains("optimization_goal") { merged.optimizationGoal = request.optimizationGoal }
        if mask.contains("billing_event") { merged.billingEvent = request.billingEvent }
        if mask.contains("targeting") {
            if request.hasTargeting { merged.targeting = request.targeting } else { merged.clearTargeting() }
        }
        let spec = try AdStrategySpec(
            name: merged.name, dailyBudget: merged.dailyBudget, lifetimeBudget: merged.lifetimeBudget, bidStrategy: merged.bidStrategy,
            bidAmount: merged.bidAmount, roasAverageFloor: merged.roasAverageFloor, optimizationGoal: merged.optimizationGoal,
            billingEvent: merged.billingEvent, targeting: merged.hasTargeting ? merged.targeting : nil)
        return try await self.objects.replaceStrategy(id, with: spec, sellerID: caller.sellerID, logger: caller.logger).message
    }

    /// Idempotent: deleting a strategy that is gone answers NOT_FOUND, which a retry may see.
    func deleteAdStrategy(
        _ request: Pixecom_Campaign_V1_GetRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_DeleteAdStrategyResponse {
        try await self.delete(AdStrategyRecord.self, request, context: context) {
            try await self.objects.deleteStrategy($0, sellerID: $1.sellerID, logger: $1.logger)
        }
        return .init()
    }

    /// The seller's strategy `text` names (empty: none), read once per distinct id; NOT_FOUND
    /// names `field`'s strategy.
    func strategy(_ text: String, field: String, _ caller: Caller) async throws -> AdStrategyRecord? {
        guard !text.isEmpty else { return nil }
        let id = try RequestValidation.id(text, field: field)
        return try await self.objects.get(AdStrategyRecord.self, id: id, sellerID: caller.sellerID, logger: caller.logger)
    }
}
