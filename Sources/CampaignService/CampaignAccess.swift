import Foundation
import Logging
import RPCKit
import ServiceKit

/// The seller a call acts for, proven by its access token, and a logger tagged with it.
struct Caller: Sendable {
    var sellerID: UUID
    var logger: Logger
}

/// Who may call what: the least role each method needs, in one table. A method missing from the
/// table is refused to everybody (fail closed).
enum CampaignAccess {
    /// Seller roles, weakest first.
    enum Role: String, Comparable, Sendable {
        case viewer = "VIEWER"
        case editor = "EDITOR"
        case admin = "ADMIN"
        case owner = "OWNER"

        private var rank: Int {
            switch self {
            case .viewer: 0
            case .editor: 1
            case .admin: 2
            case .owner: 3
            }
        }

        static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
    }

    static let minimumRole: [String: Role] = [
        // Connecting an ad account commits the seller's money: admins only.
        CampaignMethods.createAdAccount: .admin,
        CampaignMethods.getAdAccount: .viewer,
        CampaignMethods.listAdAccounts: .viewer,
        CampaignMethods.createCampaign: .editor,
        CampaignMethods.getCampaign: .viewer,
        CampaignMethods.listCampaigns: .viewer,
        CampaignMethods.updateCampaignStatus: .editor,
        CampaignMethods.createAdSet: .editor,
        CampaignMethods.getAdSet: .viewer,
        CampaignMethods.listAdSets: .viewer,
        CampaignMethods.updateAdSetStatus: .editor,
        CampaignMethods.createAd: .editor,
        CampaignMethods.getAd: .viewer,
        CampaignMethods.listAds: .viewer,
        CampaignMethods.updateAdStatus: .editor,
    ]

    /// Verifies the caller's token (UNAUTHENTICATED when missing or bad, or when its seller id is
    /// not a UUID) and its role for the method (PERMISSION_DENIED).
    static func caller(of context: ServerContext, verifier: TokenVerifier) async throws -> Caller {
        let claims = try await context.authenticate(with: verifier)
        guard let sellerID = UUID(uuidString: claims.sellerID) else {
            throw RPCError(.unauthenticated, "access token carries no valid seller id")
        }
        let role = Role(rawValue: claims.role.uppercased())
        guard let required = Self.minimumRole[context.method], let role, role >= required else {
            throw RPCError(.permissionDenied, "role \(claims.role.prefix(32)) may not call \(context.method)")
        }
        var logger = context.logger
        logger[metadataKey: "seller.id"] = "\(sellerID.wireText)"
        return Caller(sellerID: sellerID, logger: logger)
    }
}
