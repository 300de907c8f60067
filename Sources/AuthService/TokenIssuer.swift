import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// Mints the token pair a login or a refresh answers with: a 15-minute Ed25519 access token and a
/// refresh token.
struct TokenIssuer: Sendable {
    let keys: SigningKeys
    let refreshTokens: RefreshTokenStore

    /// A signed access token for `user`.
    func accessToken(for user: UserRecord, now: Date = Date()) throws -> String {
        let key = try self.keys.current()
        let issuedAt = Int64(now.timeIntervalSince1970)
        let claims = AccessClaims(
            sub: user.id.uuidString.lowercased(),
            sellerID: user.sellerID.uuidString.lowercased(),
            role: user.role,
            plan: user.plan,
            iat: issuedAt,
            exp: issuedAt + AccessClaims.lifetimeSeconds,
            jti: UUID().uuidString.lowercased()
        )
        do {
            return try JWT.sign(claims, kid: key.kid, key: try key.privateKey)
        } catch {
            throw RPCError(.internal, "could not sign an access token")
        }
    }

    /// Access tokens minted for API keys live 5 minutes, so a revoked key stops working within
    /// that time although services do not look keys up.
    static let apiKeyTokenLifetime: Int64 = 300

    /// A signed access token for an API key: its seller, the role of its scope (and an ASSETS
    /// key's scope as `scp`), `sub` `apikey:<id>`.
    func accessToken(for key: ApiKeyStore.Holder, now: Date = Date()) throws -> String {
        let signing = try self.keys.current()
        let issuedAt = Int64(now.timeIntervalSince1970)
        let claims = AccessClaims(
            sub: "apikey:" + key.id.uuidString.lowercased(),
            sellerID: key.sellerID.uuidString.lowercased(),
            role: key.scope.role.rawValue,
            plan: key.plan,
            iat: issuedAt,
            exp: issuedAt + Self.apiKeyTokenLifetime,
            jti: UUID().uuidString.lowercased(),
            scope: key.scope.tokenScope
        )
        do {
            return try JWT.sign(claims, kid: signing.kid, key: try signing.privateKey)
        } catch {
            throw RPCError(.internal, "could not sign an access token")
        }
    }

    /// The answer to a login or refresh.
    func pair(for user: UserRecord, refresh: RefreshTokenStore.Issued) throws -> Pixecom_Auth_V1_TokenPair {
        var pair = Pixecom_Auth_V1_TokenPair()
        pair.accessToken = try self.accessToken(for: user)
        pair.expiresIn = AccessClaims.lifetimeSeconds
        pair.refreshToken = refresh.token
        pair.refreshExpiresIn = refresh.expiresIn
        pair.sellerID = user.sellerID.uuidString.lowercased()
        pair.userID = user.id.uuidString.lowercased()
        return pair
    }
}
