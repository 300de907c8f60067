import Crypto
import Foundation

/// Compact JWS with EdDSA (Ed25519, RFC 8037) only.
///
/// Verification pins the algorithm: the header must say `EdDSA` and `JWT`, and the key is looked
/// up by `kid` in a local key set; nothing in the header chooses how to verify (RFC 8725).
public enum JWT {
    struct Header: Codable {
        var alg: String
        var typ: String
        var kid: String
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed
        case wrongAlgorithm
        case unknownKey(String)
        case badSignature
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience

        public var description: String {
            switch self {
            case .malformed: "malformed token"
            case .wrongAlgorithm: "token algorithm or type not accepted"
            case .unknownKey(let kid): "token signed by unknown key \(kid)"
            case .badSignature: "token signature invalid"
            case .expired: "token expired"
            case .notYetValid: "token not yet valid"
            case .wrongIssuer: "token issuer not accepted"
            case .wrongAudience: "token audience not accepted"
            }
        }
    }

    public static func sign(_ claims: AccessClaims, kid: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = try encoder.encode(Header(alg: "EdDSA", typ: "JWT", kid: kid))
        let payload = try encoder.encode(claims)
        let signingInput = base64URL(header) + "." + base64URL(payload)
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + base64URL(signature)
    }

    /// The `kid` of a token's header, without verifying anything.
    public static func keyID(of token: String) throws(Failure) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = decodeBase64URL(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: headerData)
        else { throw .malformed }
        return header.kid
    }

    /// Clock skew allowed on both ends of a token's lifetime.
    public static let leewaySeconds: Int64 = 30

    /// Verifies signature, algorithm, issuer, audience and lifetime.
    ///
    /// The cheap checks run before the Ed25519 signature check (~120 us): a token that is expired
    /// or made for somebody else is refused without it, so replaying such tokens costs the
    /// server little. Refusing on claims not yet verified is safe; nothing is accepted before the
    /// signature holds.
    public static func verify(
        _ token: String,
        keys: [String: Data],
        now: Int64,
        leewaySeconds: Int64 = JWT.leewaySeconds
    ) throws(Failure) -> AccessClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = decodeBase64URL(parts[0]),
            let payloadData = decodeBase64URL(parts[1]),
            let signature = decodeBase64URL(parts[2]),
            let header = try? JSONDecoder().decode(Header.self, from: headerData)
        else { throw .malformed }
        guard header.alg == "EdDSA", header.typ == "JWT" else { throw .wrongAlgorithm }
        guard let rawKey = keys[header.kid] else { throw .unknownKey(header.kid) }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawKey) else { throw .unknownKey(header.kid) }
        guard let claims = try? JSONDecoder().decode(AccessClaims.self, from: payloadData) else { throw .malformed }
        guard claims.iss == AccessClaims.issuer else { throw .wrongIssuer }
        guard claims.aud == AccessClaims.audience else { throw .wrongAudience }
        guard claims.exp + leewaySeconds > now else { throw .expired }
        guard claims.iat - leewaySeconds <= now else { throw .notYetValid }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }
        return claims
    }

    /// The key id of a public key: base64url of the first 12 bytes of its SHA-256.
    public static func keyID(for key: Curve25519.Signing.PublicKey) -> String {
        base64URL(Data(SHA256.hash(data: key.rawRepresentation).prefix(12)))
    }

    public static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decodeBase64URL(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
