import Foundation
import Logging
import RPCKit
import ServiceKit

/// The seller a call acts for, proven by its access token, and a logger tagged with it.
struct Caller: Sendable {
    var sellerID: UUID
    /// The seller's plan, from the token: its limits apply to what the caller creates.
    var plan: String
    var logger: Logger
}

/// The caller of a CampaignService method (roles are checked before: `AccessPolicy.campaign`).
enum CampaignAccess {
    /// The caller's seller from its verified access token (UNAUTHENTICATED when missing or bad,
    /// or when its seller id is not a UUID). The role was checked against `AccessPolicy.campaign`
    /// before the handler ran.
    static func caller(of context: ServerContext, verifier: TokenVerifier) async throws -> Caller {
        let claims = try await context.authenticate(with: verifier)
        let sellerID = try claims.sellerUUID()
        var logger = context.logger
        logger[metadataKey: "seller.id"] = "\(sellerID.wireText)"
        return Caller(sellerID: sellerID, plan: claims.plan, logger: logger)
    }
}
