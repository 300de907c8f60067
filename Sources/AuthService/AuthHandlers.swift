import Foundation
import Logging
import PixEcomProtos
import RPCKit
import ServiceKit

/// The methods of pixecom.auth.v1.AuthService. Register, Login, Refresh, AcceptInvitation and
/// GetPublicKeys need no access token (they are how one is obtained); the rest act for the
/// caller's seller, with the roles the .proto's method options set (`AccessPolicy.auth`).
struct AuthHandlers: AuthServiceHandling {
    let accounts: AccountStore
    let hasher: PasswordHasher
    let issuer: TokenIssuer
    let verifier: TokenVerifier
    let members: MemberStore
    let throttle: LoginThrottle
    let audit: AuditLog
    let apiKeys: ApiKeyStore

    func logout(_ request: Pixecom_Auth_V1_LogoutRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_LogoutResponse {
        try await self.issuer.refreshTokens.revokeFamily(of: request.refreshToken, logger: context.logger)
        return Pixecom_Auth_V1_LogoutResponse()
    }

    func getPublicKeys(_ request: Pixecom_Auth_V1_GetPublicKeysRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_PublicKeySet
    {
        var set = Pixecom_Auth_V1_PublicKeySet()
        set.keys = self.issuer.keys.published().sorted { $0.key < $1.key }.map { kid, key in
            var publicKey = Pixecom_Auth_V1_PublicKey()
            publicKey.kid = kid
            publicKey.ed25519 = key
            return publicKey
        }
        return set
    }

    /// A new seller with its owner user.
    func register(_ request: Pixecom_Auth_V1_RegisterRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_RegisterResponse {
        let (name, email, password) = try AuthValidation.registration(request)
        let hash = try await self.hasher.hash(password)
        let (sellerID, userID) = try await self.accounts.register(
            sellerName: name, email: email, passwordHash: hash, logger: context.logger)
        context.logger.info("seller.registered", metadata: ["seller.id": "\(sellerID)", "user.id": "\(userID)"])
        var response = Pixecom_Auth_V1_RegisterResponse()
        response.sellerID = sellerID.uuidString.lowercased()
        response.userID = userID.uuidString.lowercased()
        return response
    }

    /// E-mail and password for a token pair. An unknown e-mail and a wrong password get the same
    /// answer after the same work, so the answer reveals nothing about which accounts exist.
    /// Failures count per account and per source address; a locked key gets RESOURCE_EXHAUSTED
    /// with the time to wait, before any password is checked.
    func login(_ request: Pixecom_Auth_V1_LoginRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_TokenPair {
        let email = try AuthValidation.email(request.email)
        guard !request.password.isEmpty else { throw RPCError.invalidArgument(field: "password", "is required") }
        let source = Self.sourceAddress(of: context)
        let keys = LoginThrottle.Keys(email: email, sourceAddress: source)
        try await self.throttle.check(keys, logger: context.logger)
        let user = try await self.accounts.user(email: email, logger: context.logger)
        let stored = user.flatMap { PasswordHash(encoded: $0.passwordHash) }
        let matches = try await self.passwordMatches(request.password, stored)
        guard matches, let user, let stored else {
            try await self.loginFailed(keys, user: user, source: source, context: context)
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
        try await self.throttle.recordSuccess(keys, logger: logger)
        try await self.audit.record(
            .init(sellerID: user.sellerID, kind: "login.succeeded", actor: user.id, subject: user.id, sourceAddress: source),
            logger: logger
        )
        let refresh = try await self.issuer.refreshTokens.issue(for: user, logger: logger)
        logger.info("login.succeeded")
        return try self.issuer.pair(for: user, refresh: refresh)
    }

    /// Whether `candidate` is the password of `stored`. Over-long candidates and missing users
    /// cost a hash against the decoy all the same, so the time says nothing about which it was.
    func passwordMatches(_ candidate: String, _ stored: PasswordHash?) async throws -> Bool {
        let withinLimit = candidate.count <= AuthValidation.passwordLength.upperBound
        let matches = try await self.hasher.verify(withinLimit ? candidate : "", against: withinLimit ? stored : nil)
        return matches && withinLimit
    }

    /// Counts a failed login and records it (and a lockout it starts) in the audit log.
    func loginFailed(_ keys: LoginThrottle.Keys, user: UserRecord?, source: String, context: ServerContext) async throws {
        let lockedUntil = try await self.throttle.recordFailure(keys, logger: context.logger)
        context.logger.info("login.failed", metadata: lockedUntil.map { ["login.locked_until": "\($0)"] } ?? [:])
        try await self.audit.record(
            .init(sellerID: user?.sellerID, kind: "login.failed", actor: nil, subject: user?.id, sourceAddress: source),
            logger: context.logger
        )
        if let lockedUntil {
            try await self.audit.record(
                .init(
                    sellerID: user?.sellerID, kind: "login.locked", actor: nil, subject: user?.id, sourceAddress: source,
                    details: ["until": RequestValidation.timestamp(lockedUntil)]),
                logger: context.logger
            )
        }
    }

    /// Where a call comes from, for throttling and the audit log: the browser's or script's
    /// address as the edge saw it (trusted only from the edge, proven by its certificate), else
    /// the calling service.
    static func sourceAddress(of context: ServerContext) -> String {
        if context.peerService == "edge", let address = context.metadata["x-client-address"], !address.isEmpty {
            return String(address.prefix(64))
        }
        return "service:" + (context.peerService ?? "unknown")
    }

    /// A refresh token for a new pair; the presented token is spent.
    func refresh(_ request: Pixecom_Auth_V1_RefreshRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_TokenPair {
        let token = request.refreshToken
        guard token.hasPrefix(RefreshTokenStore.prefix), token.utf8.count <= 128 else {
            throw RPCError(.unauthenticated, "refresh token is not valid; log in again")
        }
        let (user, issued) = try await self.issuer.refreshTokens.rotate(token, accounts: self.accounts, logger: context.logger)
        return try self.issuer.pair(for: user, refresh: issued)
    }
}
