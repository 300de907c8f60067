import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Who an ad set's ads reach: the parts of Meta's targeting spec checked here, stored as JSON in
/// `ad_sets.targeting` and sent to the platform as they are.
struct TargetingSpec: Sendable, Codable, Equatable {
    var countries: [String] = []
    var ageMin = 18
    var ageMax = 65
    /// Meta's codes: 1 men, 2 women; empty: everyone.
    var genders: [Int] = []
    /// Empty: automatic placements.
    var publisherPlatforms: [String] = []

    var message: Pixecom_Campaign_V1_Targeting {
        var targeting = Pixecom_Campaign_V1_Targeting()
        targeting.countries = self.countries
        targeting.ageMin = Int32(self.ageMin)
        targeting.ageMax = Int32(self.ageMax)
        targeting.genders = self.genders.map { Int32($0) }
        targeting.publisherPlatforms = self.publisherPlatforms
        return targeting
    }

    /// Whether ages or genders are narrowed, which campaigns of some special ad categories forbid.
    var narrowsAgeOrGender: Bool { self.ageMin != 18 || self.ageMax != 65 || !self.genders.isEmpty }
}

/// The delivery settings of campaigns and ad sets, each failure naming its field.
extension CampaignValidation {
    static let bidStrategies = CampaignContract.bidStrategies
    /// The strategies that need an amount on every ad set.
    static let capStrategies: Set<String> = ["LOWEST_COST_WITH_BID_CAP", "COST_CAP"]
    static let minimumROASStrategy = "LOWEST_COST_WITH_MIN_ROAS"
    static let specialAdCategories = CampaignContract.specialAdCategories
    /// Categories whose ads may not target by age or gender (Meta's rule for discrimination-prone
    /// ads).
    static let categoriesWithoutAgeOrGender: Set<String> = ["CREDIT", "EMPLOYMENT", "HOUSING"]
    static let optimizationGoals = CampaignContract.optimizationGoals
    static let billingEvents = CampaignContract.billingEvents
    static let publisherPlatforms = CampaignContract.publisherPlatforms
    static let maximumCountries = 25
    /// Effective statuses a List may filter on.
    static let effectiveStatuses = CampaignContract.effectiveStatuses
    static let countryCodes = Set(CampaignContract.countries)

    /// A budget in minor units when given (0: none), positive and at most the maximum.
    static func optionalBudget(_ value: Int64, field: String) throws -> Int64? {
        value == 0 ? nil : try Self.dailyBudget(value, field: field)
    }

    /// At most one of a daily and a lifetime budget; nil when neither is given.
    static func budget(daily: Int64, lifetime: Int64) throws -> Budget? {
        let daily = try Self.optionalBudget(daily, field: "daily_budget")
        let lifetime = try Self.optionalBudget(lifetime, field: "lifetime_budget")
        switch (daily, lifetime) {
        case (let amount?, nil): return .daily(amount)
        case (nil, let amount?): return .lifetime(amount)
        case (nil, nil): return nil
        case (.some, .some):
            throw RPCError.invalidArgument(
                field: "lifetime_budget", "must be empty when daily_budget is set: a budget is daily or lifetime")
        }
    }

    static func bidStrategy(_ value: String) throws -> String {
        guard !value.isEmpty else { return "LOWEST_COST_WITHOUT_CAP" }
        return try Self.oneOf(value, Self.bidStrategies, field: "bid_strategy")
    }

    /// Known categories, each at most once; empty when none applies.
    static func specialAdCategories(_ values: [String]) throws -> [String] {
        for (index, value) in values.enumerated() {
            _ = try Self.oneOf(value, Self.specialAdCategories, field: "special_ad_categories[\(index)]")
            if values[..<index].contains(value) {
                throw RPCError.invalidArgument(field: "special_ad_categories[\(index)]", "\(value) is listed twice")
            }
        }
        return values
    }

    /// The optimization goal, by default the one the campaign's objective implies.
    static func optimizationGoal(_ value: String, objective: String) throws -> String {
        guard !value.isEmpty else {
            switch objective {
            case "OUTCOME_TRAFFIC": return "LINK_CLICKS"
            case "OUTCOME_AWARENESS": return "REACH"
            case "OUTCOME_ENGAGEMENT": return "POST_ENGAGEMENT"
            case "OUTCOME_LEADS": return "LEAD_GENERATION"
            case "OUTCOME_APP_PROMOTION": return "APP_INSTALLS"
            default: return "OFFSITE_CONVERSIONS"
            }
        }
        return try Self.oneOf(value, Self.optimizationGoals, field: "optimization_goal")
    }

    /// IMPRESSIONS by default; LINK_CLICKS only when optimizing for link clicks.
    static func billingEvent(_ value: String, optimizationGoal: String) throws -> String {
        guard !value.isEmpty else { return "IMPRESSIONS" }
        let event = try Self.oneOf(value, Self.billingEvents, field: "billing_event")
        if event == "LINK_CLICKS", optimizationGoal != "LINK_CLICKS" {
            throw RPCError.invalidArgument(
                field: "billing_event", "LINK_CLICKS needs optimization_goal LINK_CLICKS (it is \(optimizationGoal))")
        }
        return event
    }

    /// Targeting as sent, with 0 ages meaning the widest; `field` prefixes each violation's field.
    static func targeting(_ value: Pixecom_Campaign_V1_Targeting, field: String = "targeting") throws -> TargetingSpec {
        var spec = TargetingSpec()
        guard !value.countries.isEmpty else {
            throw RPCError.invalidArgument(field: "\(field).countries", "is required: name at least one country (ISO 3166-1 alpha-2)")
        }
        guard value.countries.count <= Self.maximumCountries else {
            throw RPCError.invalidArgument(field: "\(field).countries", "must list at most \(Self.maximumCountries) countries")
        }
        for (index, country) in value.countries.enumerated() {
            guard Self.countryCodes.contains(country) else {
                throw RPCError.invalidArgument(
                    field: "\(field).countries[\(index)]",
                    "must be an upper-case ISO 3166-1 alpha-2 code such as US, got \"\(country.prefix(16))\"")
            }
            if value.countries[..<index].contains(country) {
                throw RPCError.invalidArgument(field: "\(field).countries[\(index)]", "\(country) is listed twice")
            }
        }
        spec.countries = value.countries
        spec.ageMin = value.ageMin == 0 ? 18 : Int(value.ageMin)
        spec.ageMax = value.ageMax == 0 ? 65 : Int(value.ageMax)
        guard (18...65).contains(spec.ageMin) else {
            throw RPCError.invalidArgument(field: "\(field).age_min", "must be between 18 and 65, got \(value.ageMin)")
        }
        guard (18...65).contains(spec.ageMax) else {
            throw RPCError.invalidArgument(field: "\(field).age_max", "must be between 18 and 65, got \(value.ageMax)")
        }
        guard spec.ageMin <= spec.ageMax else {
            throw RPCError.invalidArgument(field: "\(field).age_max", "must not be below age_min (\(spec.ageMin)), got \(spec.ageMax)")
        }
        for (index, gender) in value.genders.enumerated() {
            guard gender == 1 || gender == 2 else {
                throw RPCError.invalidArgument(field: "\(field).genders[\(index)]", "must be 1 (men) or 2 (women), got \(gender)")
            }
            if value.genders[..<index].contains(gender) {
                throw RPCError.invalidArgument(field: "\(field).genders[\(index)]", "\(gender) is listed twice")
            }
        }
        // Both genders is everyone.
        spec.genders = Set(value.genders).count == 2 ? [] : Set(value.genders.map { Int($0) }).sorted()
        for (index, platform) in value.publisherPlatforms.enumerated() {
            _ = try Self.oneOf(platform, Self.publisherPlatforms, field: "\(field).publisher_platforms[\(index)]")
            if value.publisherPlatforms[..<index].contains(platform) {
                throw RPCError.invalidArgument(field: "\(field).publisher_platforms[\(index)]", "\(platform) is listed twice")
            }
        }
        spec.publisherPlatforms = value.publisherPlatforms
        return spec
    }

    /// The largest ROAS floor: 1000x, in ten-thousandths.
    static let maximumROASFloor: Int64 = 10_000_000

    /// A minimum return on ad spend in ten-thousandths (15000 = 1.5x).
    static func roasAverageFloor(_ value: Int64) throws -> Int64 {
        guard (1...Self.maximumROASFloor).contains(value) else {
            throw RPCError.invalidArgument(
                field: "roas_average_floor", "must be between 1 and \(Self.maximumROASFloor) ten-thousandths (15000 = 1.5x), got \(value)")
        }
        return value
    }

    /// An ad set's schedule: the end after the start and not already past.
    static func schedule(start: Date, end: Date, now: Date = Date()) throws {
        guard end > start else {
            throw RPCError.invalidArgument(field: "end_time", "must be after start_time (\(RequestValidation.timestamp(start)))")
        }
        guard end > now else {
            throw RPCError.invalidArgument(field: "end_time", "must be in the future")
        }
    }

    /// Targeting an ad set of `campaign` may have: CREDIT, EMPLOYMENT and HOUSING ads reach every
    /// age from 18 and every gender.
    static func targeting(_ targeting: TargetingSpec, allowedBy campaign: CampaignRecord) throws {
        guard campaign.restrictsAgeAndGender, targeting.narrowsAgeOrGender else { return }
        let categories = campaign.specialAdCategories.filter(Self.categoriesWithoutAgeOrGender.contains).joined(separator: ", ")
        let field = targeting.genders.isEmpty ? (targeting.ageMin != 18 ? "targeting.age_min" : "targeting.age_max") : "targeting.genders"
        throw RPCError(
            .failedPrecondition,
            "\(campaign.externalID.isEmpty ? "the new campaign" : CampaignRecord.table.describe(campaign.id)) has special ad categories \(categories): its ads reach all ages from 18 to 65 and every gender",
            fieldViolations: [.init(field: field, description: "may not be narrowed under special ad categories \(categories)")])
    }

    /// An RFC 3339 time such as 2026-12-24T09:00:00Z (fractional seconds and offsets allowed).
    static func time(_ value: String, field: String) throws -> Date {
        guard value.utf8.count <= 40, let date = RFC3339.parse(value) else {
            throw RPCError.invalidArgument(
                field: field, "must be an RFC 3339 time such as 2026-12-24T09:00:00Z, got \"\(value.prefix(40))\"")
        }
        return date
    }

    static func optionalTime(_ value: String, field: String) throws -> Date? {
        value.isEmpty ? nil : try Self.time(value, field: field)
    }

    /// `value` when it is one of `choices`; otherwise INVALID_ARGUMENT listing them.
    static func oneOf(_ value: String, _ choices: [String], field: String) throws -> String {
        guard choices.contains(value) else {
            throw RPCError.invalidArgument(field: field, "must be one of \(choices.joined(separator: ", ")), got \"\(value.prefix(64))\"")
        }
        return value
    }
}

/// A budget in minor units of the ad account's currency.
enum Budget: Sendable, Equatable {
    case daily(Int64)
    case lifetime(Int64)

    init?(daily: Int64?, lifetime: Int64?) {
        if let daily { self = .daily(daily) } else if let lifetime { self = .lifetime(lifetime) } else { return nil }
    }

    var daily: Int64? { if case .daily(let amount) = self { amount } else { nil } }
    var lifetime: Int64? { if case .lifetime(let amount) = self { amount } else { nil } }
    /// The request field that sets a budget of this type.
    var field: String { self.daily != nil ? "daily_budget" : "lifetime_budget" }
    var describe: String { self.daily.map { "a daily budget of \($0)" } ?? "a lifetime budget of \(self.lifetime ?? 0)" }
}

/// RFC 3339 times as requests carry them. `ISO8601DateFormatter` is not safe to share between
/// threads, so each parse makes its own (input times are rare: creations and filters).
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
