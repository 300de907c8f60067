import Foundation

/// The closed vocabularies of CampaignService's messages (Meta's names), shared by the service
/// that checks them and the edge's OpenAPI document that lists them.
public enum CampaignContract {
    public static let bidStrategies = [
        "LOWEST_COST_WITHOUT_CAP", "LOWEST_COST_WITH_BID_CAP", "COST_CAP", "LOWEST_COST_WITH_MIN_ROAS",
    ]
    public static let specialAdCategories = [
        "CREDIT", "EMPLOYMENT", "HOUSING", "ISSUES_ELECTIONS_POLITICS", "ONLINE_GAMBLING_AND_GAMING", "FINANCIAL_PRODUCTS_SERVICES",
    ]
    public static let optimizationGoals = [
        "OFFSITE_CONVERSIONS", "VALUE", "LINK_CLICKS", "LANDING_PAGE_VIEWS", "IMPRESSIONS", "REACH", "POST_ENGAGEMENT",
        "LEAD_GENERATION", "APP_INSTALLS",
    ]
    public static let billingEvents = ["IMPRESSIONS", "LINK_CLICKS"]
    public static let publisherPlatforms = ["facebook", "instagram", "audience_network", "messenger"]
    /// What a campaign, ad set or ad reports as its effective status.
    public static let effectiveStatuses = ["ACTIVE", "PAUSED", "CAMPAIGN_PAUSED", "ADSET_PAUSED", "ARCHIVED", "DELETED"]
    /// ISO 3166-1 alpha-2 codes: the two-letter regions Foundation knows, sorted.
    public static let countries: [String] = Set(
        Locale.Region.isoRegions.map(\.identifier).filter { $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isUppercase } }
    ).sorted()
}
