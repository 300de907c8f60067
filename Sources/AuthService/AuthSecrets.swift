import Crypto
import Foundation

/// Keys derived from the one configured root secret, each for one purpose (HKDF-SHA256 with a
/// distinct label), so that no key is ever used for two things.
///
/// The keys are kept as bytes (swift-crypto's key types are not `Sendable`) and wrapped on use.
struct AuthSecrets: Sendable {
    private let refreshTokenKeyBytes: [UInt8]
    private let signingKeySealBytes: [UInt8]

    init(hashKey: String) {
        let root = SymmetricKey(data: Data(hashKey.utf8))
        self.refreshTokenKeyBytes = Self.derive(root, "pixecom refresh-token hash v1")
        self.signingKeySealBytes = Self.derive(root, "pixecom signing-key seal v1")
    }

    /// HMAC-SHA256 key under which refresh tokens are stored.
    var refreshTokenKey: SymmetricKey { SymmetricKey(data: self.refreshTokenKeyBytes) }
    /// AES-256-GCM key sealing the signing keys' private halves in the database.
    var signingKeySeal: SymmetricKey { SymmetricKey(data: self.signingKeySealBytes) }

    private static func derive(_ root: SymmetricKey, _ label: String) -> [UInt8] {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: root, info: Data(label.utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
    }

    /// The stored form of a bearer secret (refresh token, invitation): an HMAC-SHA256 under a key
    /// derived from the root secret, so a database dump alone cannot be turned into tokens.
    func tokenHash(_ token: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: self.refreshTokenKey))
    }
}

/// Bytes from the system's cryptographically secure generator (getrandom on Linux).
enum SecureRandom {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
