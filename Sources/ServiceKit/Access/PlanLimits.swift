/// What a seller's plan allows. The plan travels in the access token; each limit is enforced by
/// the service that owns the counted objects (members: AuthService; ad accounts, campaigns and ads
/// per ad set, asset storage: CampaignService), which answers FAILED_PRECONDITION naming the limit when it is reached.
public struct PlanLimits: Sendable, Hashable {
    public var adAccounts: Int
    public var campaigns: Int
    /// Members including the owner, and invitations not yet accepted or expired.
    public var members: Int
    /// Ads in one ad set that are not DELETED (Meta's own cap is 50).
    public var adsPerAdSet: Int
    /// Bytes of assets (images, videos, texts) kept, counting uploads in progress at their
    /// declared size.
    public var assetStorageBytes: Int64

    public static let free = PlanLimits(adAccounts: 1, campaigns: 10, members: 3, adsPerAdSet: 10, assetStorageBytes: 1 << 30)
    public static let starter = PlanLimits(adAccounts: 5, campaigns: 100, members: 10, adsPerAdSet: 50, assetStorageBytes: 20 << 30)
    public static let pro = PlanLimits(adAccounts: 50, campaigns: 5_000, members: 100, adsPerAdSet: 50, assetStorageBytes: 200 << 30)

    /// The limits of `plan` (free, starter or pro); an unknown plan gets the free limits.
    public static func of(plan: String) -> PlanLimits {
        switch plan.lowercased() {
        case "pro": .pro
        case "starter": .starter
        default: .free
        }
    }
}
