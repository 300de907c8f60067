import Foundation
import RPCKit

extension AccessClaims {
    /// The seller (tenant) a verified token acts for: the only way a service learns the seller of
    /// a user's call. A token without a usable one cannot act for anybody, so it is
    /// UNAUTHENTICATED rather than a bad request.
    public func sellerUUID() throws -> UUID {
        guard let id = UUID(canonical: self.sellerID) else {
            throw RPCError(.unauthenticated, "access token carries no valid seller id")
        }
        return id
    }
}
