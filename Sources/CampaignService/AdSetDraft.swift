import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A CreateAdSet request checked on its own (INVALID_ARGUMENT naming the field), before its
/// campaign is read; `spec(under:)` then checks it against the campaign (FAILED_PRECONDITION
/// naming the field: well formed, but not under this campaign) and fills in the defaults.
///
/// What the campaign decides is fixed when it is created (budget level and type, bid strategy,
/// special ad categories), so the check holds until the ad set is stored.
struct AdSetDraft: Sendable {
    var name: String
    var status: AdObjectStatus
    var budget: Budget?
    var bidAmount: Int64?
    var roasAverageFloor: Int64?
    var optimizationGoal: String
    var billingEvent: String
    var targeting: TargetingSpec
    var startTime: Date?
    var endTime: Date?

    init(_ request: Pixecom_Campaign_V1_CreateAdSetRequest) throws {
        self.name = try CampaignValidation.name(request.name)
        self.status = try CampaignValidation.initialStatus(request.status)
        self.budget = try CampaignValidation.budget(daily: request.dailyBudget, lifetime: request.lifetimeBudget)
        self.bidAmount = try CampaignValidation.optionalBudget(request.bidAmount, field: "bid_amount")
        self.roasAverageFloor = request.roasAverageFloor == 0 ? nil : try CampaignValidation.roasAverageFloor(request.roasAverageFloor)
        // The goal's default needs the objective: checked here only when given.
        self.optimizationGoal =
            request.optimizationGoal.isEmpty
            ? "" : try CampaignValidation.oneOf(request.optimizationGoal, CampaignValidation.optimizationGoals, field: "optimization_goal")
        self.billingEvent =
            request.billingEvent.isEmpty
            ? "" : try CampaignValidation.oneOf(request.billingEvent, CampaignValidation.billingEvents, field: "billing_event")
        guard request.hasTargeting else {
            throw RPCError.invalidArgument(field: "targeting", "is required: at least targeting.countries, e.g. {\"countries\": [\"US\"]}")
        }
        self.targeting = try CampaignValidation.targeting(request.targeting)
        self.startTime = try CampaignValidation.optionalTime(request.startTime, field: "start_time")
        self.endTime = try CampaignValidation.optionalTime(request.endTime, field: "end_time")
        if let end = self.endTime {
            try CampaignValidation.schedule(start: self.startTime ?? Date(), end: end)
        }
        if self.budget?.lifetime != nil, self.endTime == nil {
            throw RPCError.invalidArgument(field: "end_time", "is required with a lifetime budget: it is spent by the end time")
        }
    }

    /// The ad set to create under `campaign`, or FAILED_PRECONDITION naming the field that does
    /// not fit it.
    func spec(under campaign: CampaignRecord) throws -> AdSetSpec {
        // A campaign planned in the same request has no platform id yet, nor an id anyone knows.
        let describe = campaign.externalID.isEmpty ? "the new campaign" : CampaignRecord.table.describe(campaign.id)
        func refuse(_ field: String, _ problem: String, _ message: String) -> RPCError {
            RPCError(.failedPrecondition, "\(describe) \(message)", fieldViolations: [.init(field: field, description: problem)])
        }
        switch (campaign.budget, self.budget) {
        case (let held?, let own?):
            throw refuse(
                own.field, "must be empty: the campaign holds the budget", "has \(held.describe): its ad sets have no budget of their own")
        case (nil, nil):
            throw refuse(
                "daily_budget", "is required: the campaign has no budget",
                "has no budget: each of its ad sets has one (daily_budget or lifetime_budget)")
        default:
            break
        }
        let strategy = campaign.bidStrategy
        if CampaignValidation.capStrategies.contains(strategy) {
            guard self.bidAmount != nil else {
                throw refuse(
                    "bid_amount", "is required by the bid strategy \(strategy)", "bids with \(strategy): each ad set needs its bid_amount")
            }
        } else if self.bidAmount != nil {
            throw refuse(
                "bid_amount", "must be empty under the bid strategy \(strategy)", "bids with \(strategy), which takes no bid amount")
        }
        if strategy == CampaignValidation.minimumROASStrategy {
            guard self.roasAverageFloor != nil else {
                throw refuse(
                    "roas_average_floor", "is required by the bid strategy \(strategy)",
                    "bids with \(strategy): each ad set needs its roas_average_floor")
            }
        } else if self.roasAverageFloor != nil {
            throw refuse(
                "roas_average_floor", "must be empty under the bid strategy \(strategy)", "bids with \(strategy), which takes no ROAS floor"
            )
        }
        if campaign.lifetimeBudget != nil, self.endTime == nil {
            throw refuse("end_time", "is required: the campaign's lifetime budget is spent by the end time", "has a lifetime budget")
        }
        try CampaignValidation.targeting(self.targeting, allowedBy: campaign)
        let goal = try CampaignValidation.optimizationGoal(self.optimizationGoal, objective: campaign.objective)
        return AdSetSpec(
            name: self.name,
            dailyBudget: self.budget?.daily,
            lifetimeBudget: self.budget?.lifetime,
            bidAmount: self.bidAmount,
            roasAverageFloor: self.roasAverageFloor,
            optimizationGoal: goal,
            billingEvent: try CampaignValidation.billingEvent(self.billingEvent, optimizationGoal: goal),
            targeting: self.targeting,
            startTime: self.startTime ?? Date(),
            endTime: self.endTime,
            status: self.status
        )
    }
}
