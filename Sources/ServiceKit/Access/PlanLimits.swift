/// What a seller's plan allows. The plan travels in the access token; each limit is enforced by
/// the service that owns the counted objects (members: AuthService; ad accounts and campaigns:
/// CampaignService), which answers FAILED_PRECONDITION naming the limit when it is reached.
public struct PlanLimits: Sendable, Hashable {
    public var adAccounts: Int
    public var campaigns: Int
    /// Members including the owner, and invitations not yet accepted or expired.
    public var members: Int

    public static let free = PlanLimits(adAccounts: 1, campaigns: 10, members: 3)
    public static let starter = PlanLimits(adAccounts: 5, campaigns: 100, members: 10)
    public static let pro = PlanLimits(adAccounts: 50, campaigns: 5_000, members: 100)

    /// The limits of `plan` (free, starter or pro); an unknown plan gets the free limits.
    public static func of(plan: String) -> PlanLimits {
        switch plan.lowercased() {
        case "pro": .pro
        case "starter": .starter
        default: .free
        }
    }
}
