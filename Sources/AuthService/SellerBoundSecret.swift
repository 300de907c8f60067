import Foundation
import ServiceKit

/// Bearer secrets that name their seller: `<prefix><base64url(seller id, 16 bytes ‖ 32 random
/// bytes)>`. The seller part lets AuthService look the secret up inside that seller's
/// row-level-security scope; it proves nothing by itself (an edited seller part only finds no
/// row), since the whole string is what is hashed and compared.
enum SellerBoundSecret {
    static func make(prefix: String, sellerID: UUID) -> String {
        let seller = withUnsafeBytes(of: sellerID.uuid) { Array($0) }
        return prefix + JWT.base64URL(seller + SecureRandom.bytes(32))
    }

    /// The seller a secret names; nil when it is not one of ours.
    static func seller(of secret: String, prefix: String) -> UUID? {
        guard secret.hasPrefix(prefix), secret.utf8.count <= 128,
            let bytes = JWT.decodeBase64URL(secret.dropFirst(prefix.count)), bytes.count == 48
        else { return nil }
        let seller = Array(bytes.prefix(16))
        return UUID(
            uuid: (
                seller[0], seller[1], seller[2], seller[3], seller[4], seller[5], seller[6], seller[7],
                seller[8], seller[9], seller[10], seller[11], seller[12], seller[13], seller[14], seller[15]
            ))
    }
}
