import Foundation
import RPCKit
import ServiceKit

extension AccessClaims {
    /// The seller (tenant) id of a verified token. A token without a usable one cannot act for
    /// anybody, so it is UNAUTHENTICATED rather than a bad request.
    func sellerUUID() throws -> UUID {
        guard let id = UUID(uuidString: self.sellerID) else {
            throw RPCError(.unauthenticated, "access token carries no valid seller id")
        }
        return id
    }
}
