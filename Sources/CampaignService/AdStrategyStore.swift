import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A seller's ad strategy: a named preset of ad set settings (docs/API.md, "Ad strategies").
struct AdStrategyRecord: StoredObject {
    static let table = ObjectTable(
        name: "ad_strategies",
        noun: "ad strategy",
        source: "ad_strategies o",
        columns: """
            o.id, o.name, o.daily_budget, o.lifetime_budget, o.bid_strategy, o.bid_amount, o.roas_average_floor, o.optimization_goal, \
            o.billing_event, o.targeting::text, o.created_at, o.updated_at
            """,
        parentColumn: nil,
        hasStatus: false
    )

    var id: UUID
    var spec: AdStrategySpec
    var createdAt: Date
    var updatedAt: Date

    init(row: PostgresRow) throws {
        let targeting: String?
        var spec = AdStrategySpec()
        let daily: Int64?
        let lifetime: Int64?
        (
            self.id, spec.name, daily, lifetime, spec.bidStrategy, spec.bidAmount, spec.roasAverageFloor, spec.optimizationGoal,
            spec.billingEvent, targeting, self.createdAt, self.updatedAt
        ) = try row.decode((UUID, String, Int64?, Int64?, String, Int64?, Int64?, String?, String?, String?, Date, Date).self)
        spec.budget = Budget(daily: daily, lifetime: lifetime)
        if let targeting {
            do {
                spec.targeting = try JSONDecoder().decode(TargetingSpec.self, from: Data(targeting.utf8))
            } catch {
                throw UnreadableRowError(table: Self.table.name, column: "targeting", value: String(targeting.prefix(200)))
            }
        }
        self.spec = spec
    }

    var message: Pixecom_Campaign_V1_AdStrategy {
        var strategy = Pixecom_Campaign_V1_AdStrategy()
        strategy.id = self.id.wireText
        strategy.name = self.spec.name
        strategy.dailyBudget = self.spec.budget?.daily ?? 0
        strategy.lifetimeBudget = self.spec.budget?.lifetime ?? 0
        strategy.bidStrategy = self.spec.bidStrategy
        strategy.bidAmount = self.spec.bidAmount ?? 0
        strategy.roasAverageFloor = self.spec.roasAverageFloor ?? 0
        strategy.optimizationGoal = self.spec.optimizationGoal ?? ""
        strategy.billingEvent = self.spec.billingEvent ?? ""
        if let targeting = self.spec.targeting { strategy.targeting = targeting.message }
        strategy.createTime = RequestValidation.timestamp(self.createdAt)
        strategy.updateTime = RequestValidation.timestamp(self.updatedAt)
        return strategy
    }

    /// Fills the fields `request` leaves empty with this strategy's values.
    func fill(_ request: inout Pixecom_Campaign_V1_CreateAdSetRequest) {
        if request.dailyBudget == 0, request.lifetimeBudget == 0 {
            request.dailyBudget = self.spec.budget?.daily ?? 0
            request.lifetimeBudget = self.spec.budget?.lifetime ?? 0
        }
        if request.bidAmount == 0 { request.bidAmount = self.spec.bidAmount ?? 0 }
        if request.roasAverageFloor == 0 { request.roasAverageFloor = self.spec.roasAverageFloor ?? 0 }
        if request.optimizationGoal.isEmpty { request.optimizationGoal = self.spec.optimizationGoal ?? "" }
        if request.billingEvent.isEmpty { request.billingEvent = self.spec.billingEvent ?? "" }
        if !request.hasTargeting, let targeting = self.spec.targeting { request.targeting = targeting.message }
    }

    /// FAILED_PRECONDITION naming `field` when `campaign` bids otherwise than this strategy is
    /// made for.
    func check(against campaign: CampaignRecord, field: String) throws {
        guard campaign.bidStrategy == self.spec.bidStrategy else {
            let describe = campaign.externalID.isEmpty ? "the new campaign" : CampaignRecord.table.describe(campaign.id)
            throw RPCError(
                .failedPrecondition,
                "\(Self.table.describe(self.id)) is made for the bid strategy \(self.spec.bidStrategy); \(describe) bids with \(campaign.bidStrategy)",
                fieldViolations: [.init(field: field, description: "names a strategy for another bid strategy")])
        }
    }
}

/// The values of an ad strategy, checked as a whole.
struct AdStrategySpec: Sendable, Equatable {
    var name = ""
    var budget: Budget?
    var bidStrategy = "LOWEST_COST_WITHOUT_CAP"
    var bidAmount: Int64?
    var roasAverageFloor: Int64?
    var optimizationGoal: String?
    var billingEvent: String?
    var targeting: TargetingSpec?

    init() {}

    /// Each field checked on its own and with the others, naming the field at fault.
    init(
        name: String, dailyBudget: Int64, lifetimeBudget: Int64, bidStrategy: String, bidAmount: Int64, roasAverageFloor: Int64,
        optimizationGoal: String, billingEvent: String, targeting: Pixecom_Campaign_V1_Targeting?
    ) throws {
        self.name = try CampaignValidation.name(name)
        self.budget = try CampaignValidation.budget(daily: dailyBudget, lifetime: lifetimeBudget)
        self.bidStrategy = try CampaignValidation.bidStrategy(bidStrategy)
        self.bidAmount = try CampaignValidation.optionalBudget(bidAmount, field: "bid_amount")
        self.roasAverageFloor = roasAverageFloor == 0 ? nil : try CampaignValidation.roasAverageFloor(roasAverageFloor)
        if CampaignValidation.capStrategies.contains(self.bidStrategy) != (self.bidAmount != nil) {
            throw RPCError.invalidArgument(
                field: "bid_amount",
                self.bidAmount == nil
                    ? "is required by the bid strategy \(self.bidStrategy)" : "must be empty under the bid strategy \(self.bidStrategy)")
        }
        if (self.bidStrategy == CampaignValidation.minimumROASStrategy) != (self.roasAverageFloor != nil) {
            throw RPCError.invalidArgument(
                field: "roas_average_floor",
                self.roasAverageFloor == nil
                    ? "is required by the bid strategy \(self.bidStrategy)" : "must be empty under the bid strategy \(self.bidStrategy)")
        }
        self.optimizationGoal =
            optimizationGoal.isEmpty
            ? nil : try CampaignValidation.oneOf(optimizationGoal, CampaignValidation.optimizationGoals, field: "optimization_goal")
        if !billingEvent.isEmpty {
            // LINK_CLICKS billing needs the goal said here: the objective's default is not known yet.
            self.billingEvent = try CampaignValidation.billingEvent(billingEvent, optimizationGoal: self.optimizationGoal ?? "(none)")
        }
        self.targeting = try targeting.map { try CampaignValidation.targeting($0) }
    }
}

extension ObjectStore {
    func insertStrategy(_ spec: AdStrategySpec, sellerID: UUID, logger: Logger) async throws -> AdStrategyRecord {
        let id = UUID()
        let targeting = try spec.targeting.map(TargetingSpec.json)
        return try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await ObjectQueries.insert(
                """
                INSERT INTO ad_strategies (
                    seller_id, id, name, daily_budget, lifetime_budget, bid_strategy, bid_amount, roas_average_floor,
                    optimization_goal, billing_event, targeting)
                VALUES (\(sellerID), \(id), \(spec.name), \(spec.budget?.daily), \(spec.budget?.lifetime), \(spec.bidStrategy),
                        \(spec.bidAmount), \(spec.roasAverageFloor), \(spec.optimizationGoal), \(spec.billingEvent), \(targeting)::jsonb)
                """,
                id: id, returning: AdStrategyRecord.self, sellerID: sellerID, on: connection, logger: logger)
        }
    }

    /// Replaces every value of the strategy `id` (NOT_FOUND naming it when it is gone).
    func replaceStrategy(_ id: UUID, with spec: AdStrategySpec, sellerID: UUID, logger: Logger) async throws -> AdStrategyRecord {
        let targeting = try spec.targeting.map(TargetingSpec.json)
        return try await self.db.withSeller(sellerID, logger: logger) { connection in
            try await connection.query(
                """
                UPDATE ad_strategies SET name = \(spec.name), daily_budget = \(spec.budget?.daily),
                    lifetime_budget = \(spec.budget?.lifetime), bid_strategy = \(spec.bidStrategy), bid_amount = \(spec.bidAmount),
                    roas_average_floor = \(spec.roasAverageFloor), optimization_goal = \(spec.optimizationGoal),
                    billing_event = \(spec.billingEvent), targeting = \(targeting)::jsonb, updated_at = now()
                WHERE seller_id = \(sellerID) AND id = \(id)
                """,
                logger: logger)
            return try await ObjectQueries.require(AdStrategyRecord.self, sellerID: sellerID, id: id, on: connection, logger: logger)
        }
    }

    /// Deletes the strategy `id`; false when there was none.
    func deleteStrategy(_ id: UUID, sellerID: UUID, logger: Logger) async throws -> Bool {
        try await self.db.withSeller(sellerID, logger: logger) { connection in
            let rows = try await connection.query(
                "DELETE FROM ad_strategies WHERE seller_id = \(sellerID) AND id = \(id) RETURNING id", logger: logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            return deleted
        }
    }
}
