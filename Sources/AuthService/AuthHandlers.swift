import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// The methods of pixecom.auth.v1.AuthService. None needs an access token: they are how one is
/// obtained.
struct AuthHandlers: Sendable {
    let accounts: AccountStore
    let hasher: PasswordHasher
    let issuer: TokenIssuer

    func register(on router: inout RPCRouter) {
        router.unary(AuthMethods.register, Pixecom_Auth_V1_RegisterRequest.self) { request, context in
            try await self.register(request, context)
        }
        router.unary(AuthMethods.login, Pixecom_Auth_V1_LoginRequest.self) { request, context in
            try await self.login(request, context)
        }
        router.unary(AuthMethods.refresh, Pixecom_Auth_V1_RefreshRequest.self) { request, context in
            try await self.refresh(request, context)
        }
        router.unary(AuthMethods.getPublicKeys, Pixecom_Auth_V1_GetPublicKeysRequest.self) { _, _ in
            var set = Pixecom_Auth_V1_PublicKeySet()
            set.keys = self.issuer.keys.published().sorted { $0.key < $1.key }.map { kid, key in
                var publicKey = Pixecom_Auth_V1_PublicKey()
                publicKey.kid = kid
                publicKey.ed25519 = key
                return publicKey
            }
            return set
        }
    }

    /// A new seller with its owner user.
    func register(_ request: Pixecom_Auth_V1_RegisterRequest, _ context: ServerContext) async throws -> Pixecom_Auth_V1_RegisterResponse {
        let (name, email, password) = try AuthValidation.registration(request)
        let hash = try await self.hasher.hash(password)
        let (sellerID, userID) = try await self.accounts.register(sellerName: name, email: email, passwordHash: hash, logger: context.logger)
        context.logger.info("seller.registered", metadata: ["seller.id": "\(sellerID)", "user.id": "\(userID)"])
        var response = Pixecom_Auth_V1_RegisterResponse()
        response.sellerID = sellerID.uuidString.lowercased()
        response.userID = userID.uuidString.lowercased()
        return response
    }

    /// E-mail and password for a token pair. An unknown e-mail and a wrong password get the same
    /// answer after the same work, so the answer reveals nothing about which accounts exist.
    func login(_ request: Pixecom_Auth_V1_LoginRequest, _ context: ServerContext) async throws -> Pixecom_Auth_V1_TokenPair {
        let email = try AuthValidation.email(request.email)
        guard !request.password.isEmpty else { throw RPCError.invalidArgument(field: "password", "is required") }
        guard request.password.count <= AuthValidation.passwordLength.upperBound else {
            throw RPCError(.unauthenticated, "email or password is not correct")
        }
        let user = try await self.accounts.user(email: email, logger: context.logger)
        let stored = user.flatMap { PasswordHash(encoded: $0.passwordHash) }
        let matches = try await self.hasher.verify(request.password, against: stored)
        guard matches, let user, let stored else {
            context.logger.info("login.failed")
            throw RPCError(.unauthenticated, "email or password is not correct")
        }
        var logger = context.logger
        logger[metadataKey: "seller.id"] = "\(user.sellerID)"
        logger[metadataKey: "user.id"] = "\(user.id)"
        if self.hasher.needsUpgrade(stored) {
            // The password is at hand only now: rehash under the current parameters.
            let upgraded = try await self.hasher.hash(request.password)
            try await self.accounts.replacePasswordHash(sellerID: user.sellerID, userID: user.id, with: upgraded, logger: logger)
            logger.info("password.rehashed", metadata: ["hash.from": "\(stored.parameters)", "hash.to": "\(upgraded.parameters)"])
        }
        let refresh = try await self.issuer.refreshTokens.issue(for: user, logger: logger)
        logger.info("login.succeeded")
        return try self.issuer.pair(for: user, refresh: refresh)
    }

    /// A refresh token for a new pair; the presented token is spent.
    func refresh(_ request: Pixecom_Auth_V1_RefreshRequest, _ context: ServerContext) async throws -> Pixecom_Auth_V1_TokenPair {
        let token = request.refreshToken
        guard token.hasPrefix(RefreshTokenStore.prefix), token.utf8.count <= 128 else {
            throw RPCError(.unauthenticated, "refresh token is not valid; log in again")
        }
        let (user, issued) = try await self.issuer.refreshTokens.rotate(token, accounts: self.accounts, logger: context.logger)
        return try self.issuer.pair(for: user, refresh: issued)
    }
}
