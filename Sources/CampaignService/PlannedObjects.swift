import Foundation

/// Objects of a tree before they are stored: what a dry run answers, and what the ad sets of a
/// new campaign are checked against. They have no external ids yet.
extension CampaignRecord {
    init(planned spec: CampaignSpec, id: UUID, adAccountID: UUID, at now: Date) {
        self.id = id
        self.adAccountID = adAccountID
        self.name = spec.name
        self.objective = spec.objective
        self.status = spec.status
        self.dailyBudget = spec.dailyBudget
        self.lifetimeBudget = spec.lifetimeBudget
        self.bidStrategy = spec.bidStrategy
        self.specialAdCategories = spec.specialAdCategories
        self.externalID = ""
        self.createdAt = now
        self.updatedAt = now
        // Planned only under a connected account (the handlers check it first).
        self.accountConnected = true
    }
}

extension AdSetRecord {
    init(planned spec: AdSetSpec, id: UUID, campaign: CampaignRecord, at now: Date) {
        self.id = id
        self.campaignID = campaign.id
        self.name = spec.name
        self.status = spec.status
        self.dailyBudget = spec.dailyBudget
        self.lifetimeBudget = spec.lifetimeBudget
        self.bidAmount = spec.bidAmount
        self.roasAverageFloor = spec.roasAverageFloor
        self.optimizationGoal = spec.optimizationGoal
        self.billingEvent = spec.billingEvent
        self.targeting = spec.targeting
        self.startTime = spec.startTime
        self.endTime = spec.endTime
        self.externalID = ""
        self.createdAt = now
        self.updatedAt = now
        self.effectiveStatus = EffectiveStatus.of(spec.status, campaign: campaign.status)
        self.accountConnected = campaign.accountConnected
    }
}

extension AdRecord {
    init(planned spec: AdSpec, id: UUID, adSet: AdSetRecord, campaign: CampaignRecord, at now: Date) {
        self.id = id
        self.adSetID = adSet.id
        self.campaignID = campaign.id
        self.name = spec.name
        self.status = spec.status
        self.linkURL = spec.linkURL
        self.externalID = ""
        self.createdAt = now
        self.updatedAt = now
        self.effectiveStatus = EffectiveStatus.of(spec.status, campaign: campaign.status, adSet: adSet.status)
        self.accountConnected = campaign.accountConnected
        self.creativeID = spec.creativeID
        self.urlTags = spec.urlTags
    }
}

/// The effective status as the tables' SQL derives it (`AdSetRecord`, `AdRecord`), for objects
/// not stored yet.
enum EffectiveStatus {
    static func of(_ own: AdObjectStatus, campaign: AdObjectStatus, adSet: AdObjectStatus? = nil) -> String {
        guard own == .active else { return own.rawValue }
        if campaign == .paused { return "CAMPAIGN_PAUSED" }
        if campaign != .active { return campaign.rawValue }
        if let adSet {
            if adSet == .paused { return "ADSET_PAUSED" }
            if adSet != .active { return adSet.rawValue }
        }
        return "ACTIVE"
    }
}
