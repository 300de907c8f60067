import Foundation
import Logging
import PostgresNIO

/// The ad platform that runs the seller's ads (Meta's Marketing API in production, the built-in
/// `SandboxAdPlatform` until then). The service keeps its own copy of every object and the
/// platform's id for it (`external_id`).
///
/// Calls happen while the service holds no transaction and no row lock: the platform is remote
/// and may be slow, and a pooled connection held across its latency would starve every other
/// call. The handlers read what they need, call the platform, then store the result in a new
/// transaction that checks nothing changed in between (`ObjectStore`).
protocol AdPlatform: Sendable {
    /// Stored beside each ad account, e.g. "sandbox" or "meta".
    var name: String { get }
    /// Whether `connect` with an empty token signs in a new user (the sandbox), so that an ad
    /// account can be created without a connection named: the seller's only one, or a new one.
    var signsInWithoutToken: Bool { get }

    /// The platform user behind `accessToken` (Meta: `GET /debug_token`); an invalid or expired
    /// token is refused with `invalidToken`. An empty token signs in a new user where the
    /// platform allows it (the sandbox; Meta refuses it, its tokens come from the OAuth dialog).
    func connect(accessToken: String, call: AdPlatformCall) async throws -> PlatformGrant
    /// Creates an account owned by `owner`'s user.
    func createAdAccount(_ spec: AdAccountSpec, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount
    /// An existing account `owner`'s user can manage, with its pages and pixels; `objectNotFound`
    /// when there is none such (another user's account included).
    func adAccount(_ externalID: String, owner: PlatformGrant, call: AdPlatformCall) async throws -> PlatformAdAccount
    /// Returns the new campaign's platform id.
    func createCampaign(_ spec: CampaignSpec, inAccount accountID: String, call: AdPlatformCall) async throws -> String
    /// Returns the new ad set's platform id.
    func createAdSet(_ spec: AdSetSpec, inCampaign campaignID: String, call: AdPlatformCall) async throws -> String
    /// Returns the new ad's platform id.
    /// Creates a creative in an ad account; its id.
    func createCreative(_ spec: PlatformCreative, inAccount accountID: String, call: AdPlatformCall) async throws -> String
    func createAd(_ spec: AdSpec, inAdSet adSetID: String, call: AdPlatformCall) async throws -> String
    /// Sets the `status` of a campaign, ad set or ad. DELETED also deletes its descendants.
    func updateStatus(of externalID: String, to status: AdObjectStatus, call: AdPlatformCall) async throws
    /// Changes the settings of a campaign, ad set or ad that `settings` names.
    func updateSettings(of externalID: String, _ settings: PlatformSettings, call: AdPlatformCall) async throws
}

/// Who is calling the platform.
struct AdPlatformCall: Sendable {
    var sellerID: UUID
    /// This service's database, for a platform that keeps its state there (the sandbox). Such a
    /// platform runs its own short transactions, as a remote one would on its side; it never
    /// shares the service's.
    var db: PostgresClient
    var logger: Logger
}

struct AdAccountSpec: Sendable, Encodable {
    var name: String
    var currency: String
    var timeZone: String
}

/// A platform user's grant: who they are on the platform and the token that acts for them.
struct PlatformGrant: Sendable, Equatable {
    var userID: String
    var accessToken: String
}

/// An ad account as the platform describes it.
struct PlatformAdAccount: Sendable, Equatable {
    var externalID: String
    var name: String
    var currency: String
    var timeZone: String
    var pages: [PlatformPage]
}

/// A page an account's ads run as, with the pixels that measure its traffic.
struct PlatformPage: Sendable, Codable, Equatable {
    var id: String
    var name: String
    var pixels: [PlatformPixel]
}

struct PlatformPixel: Sendable, Codable, Equatable {
    var id: String
    var name: String
}

struct CampaignSpec: Sendable, Encodable {
    var name: String
    var objective: String
    /// Minor units of the account currency; nil for both: the ad sets carry the budgets.
    var dailyBudget: Int64?
    var lifetimeBudget: Int64?
    var bidStrategy: String
    var specialAdCategories: [String]
    var status: AdObjectStatus
    /// The campaign's id, chosen before the platform is called (its ads' final URLs name it).
    var id = UUID()

    enum CodingKeys: String, CodingKey {
        case name, objective, dailyBudget, lifetimeBudget, bidStrategy, specialAdCategories, status
    }

    var budget: Budget? { Budget(daily: self.dailyBudget, lifetime: self.lifetimeBudget) }
}

struct AdSetSpec: Sendable, Encodable {
    var name: String
    /// Set only when the campaign has no budget, then exactly one of the two.
    var dailyBudget: Int64?
    var lifetimeBudget: Int64?
    var bidAmount: Int64?
    var roasAverageFloor: Int64?
    var optimizationGoal: String
    var billingEvent: String
    var targeting: TargetingSpec
    var startTime: Date
    var endTime: Date?
    var status: AdObjectStatus
    /// The ad set's id, chosen before the platform is called (its ads' final URLs name it).
    var id = UUID()

    enum CodingKeys: String, CodingKey {
        case name, dailyBudget, lifetimeBudget, bidAmount, roasAverageFloor, optimizationGoal, billingEvent, targeting, startTime, endTime
        case status
    }
}

/// A creative as the platform takes it (Meta: act_<id>/adcreatives, its object_story_spec reduced
/// to what the sandbox checks): the assets by their hashes, the texts and the link with its
/// url_tags (expanded per ad by PixEcom, so the platform's own macros are not used).
struct PlatformCreative: Sendable, Encodable {
    var name: String
    var format: String
    var link: String
    var urlTags: String
    var imageHashes: [String]
    var videoHashes: [String]
    var bodies: [String]
    var titles: [String]
    var descriptions: [String]
    var callToActionType: String
}

struct AdSpec: Sendable, Encodable {
    var name: String
    /// The link; the platform is sent the final URL (`finalURL`), with the url_tags expanded.
    var linkURL: String
    var status: AdObjectStatus
    /// The ad's id, chosen before the platform is called, so its final URL can name it.
    var id = UUID()
    /// The creative it is made from, and that creative's url_tags.
    var creativeID: UUID? = nil
    var urlTags = ""
    /// The platform's id of that creative in the ad's ad account (`CampaignHandlers.publish`).
    var platformCreativeID: String? = nil

    enum CodingKeys: String, CodingKey {
        case name, linkURL, status
        case platformCreativeID = "creative_id"
    }

    /// Where a click lands: the link with the url_tags, their macros expanded to these ids.
    func finalURL(campaignID: UUID, adSetID: UUID) -> String {
        URLTags.finalURL(link: self.linkURL, tags: self.urlTags, campaignID: campaignID, adSetID: adSetID, adID: self.id)
    }

    /// This spec as the platform gets it: the final URL as its link.
    func forPlatform(campaignID: UUID, adSetID: UUID) -> AdSpec {
        var sent = self
        sent.linkURL = self.finalURL(campaignID: campaignID, adSetID: adSetID)
        return sent
    }
}

/// Settings of a campaign, ad set or ad to change on the platform (nil: unchanged). Encoded as
/// the platform's JSON, nil fields left out.
struct PlatformSettings: Sendable, Encodable, Equatable {
    var name: String?
    var dailyBudget: Int64?
    var lifetimeBudget: Int64?
    var bidAmount: Int64?
    var roasAverageFloor: Int64?
    var targeting: TargetingSpec?
    var endTime: Date?
    /// true: the end time is removed (the ad set runs until stopped).
    var clearsEndTime: Bool?
    var linkURL: String?

    var isEmpty: Bool { self == PlatformSettings() }
}

/// A refusal or failure of the ad platform. Mapped to an RPC status in one place
/// (`AdPlatformError.rpcError`).
struct AdPlatformError: Error, Sendable, CustomStringConvertible {
    enum Code: Sendable {
        /// A parameter the platform refuses; `field` names the request field it came from.
        case invalidParameter
        /// The platform has no such object for this seller.
        case objectNotFound
        /// The object's state forbids the change (e.g. it is deleted).
        case invalidState
        /// Throttled; `retryAfter` says when to try again.
        case rateLimited
        /// The platform could not be reached or failed.
        case unavailable
        /// The access token is invalid, expired or revoked (Meta's code 190).
        case invalidToken
    }

    var code: Code
    var message: String
    var field: String?
    var retryAfter: Duration?
    /// The platform's own error, when it answered in Meta's shape (codes and fbtrace_id).
    var graph: GraphAPIError?

    init(_ code: Code, _ message: String, field: String? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    var description: String { "ad platform: \(self.message)" }
}
