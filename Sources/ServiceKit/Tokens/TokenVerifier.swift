import Crypto
import Foundation
import NIOConcurrencyHelpers
import RPCKit

/// Verifies access tokens with AuthService's public keys.
///
/// Keys come from `fetchKeys` (an RPC to AuthService, or the local key store inside AuthService),
/// are cached, and are fetched again when a token names an unknown `kid` (at most once per
/// `refetchInterval`, so garbage tokens cannot hammer AuthService). Successful verifications are
/// cached per token until it expires, so a hot path pays for Ed25519 once per token.
///
/// Thread-safe.
public final class TokenVerifier: Sendable {
    /// Returns the raw 32-byte Ed25519 public keys by key id.
    public typealias KeyFetcher = @Sendable () async throws -> [String: Data]

    private struct State: Sendable {
        var keys: [String: Data] = [:]
        var lastFetch: ContinuousClock.Instant?
        var verified: [String: AccessClaims] = [:]
    }

    private let fetchKeys: KeyFetcher
    private let state = NIOLockedValueBox(State())
    private let refetchInterval: Duration
    private let cacheLimit: Int

    public init(refetchInterval: Duration = .seconds(5), cacheLimit: Int = 10_000, fetchKeys: @escaping KeyFetcher) {
        self.fetchKeys = fetchKeys
        self.refetchInterval = refetchInterval
        self.cacheLimit = cacheLimit
    }

    /// The claims of an `authorization` header value `Bearer <token>`, cached under the whole
    /// header so that a hit needs no copy of the token; nil when the header is not a bearer one.
    public func verify(authorization header: String) async throws -> AccessClaims? {
        let now = Int64(Date().timeIntervalSince1970)
        if let cached = self.state.withLockedValue({ $0.verified[header] }), cached.exp > now {
            return cached
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix) else { return nil }
        let claims = try await self.verify(String(header.dropFirst(prefix.count)))
        self.remember(claims, as: header, now: now)
        return claims
    }

    /// The verified claims, or `UNAUTHENTICATED` naming what was wrong.
    public func verify(_ token: String) async throws -> AccessClaims {
        let now = Int64(Date().timeIntervalSince1970)
        if let cached = self.state.withLockedValue({ $0.verified[token] }), cached.exp > now {
            return cached
        }
        var keys = self.state.withLockedValue { $0.keys }
        if keys.isEmpty || !self.knowsKey(of: token, in: keys) {
            keys = try await self.refreshKeys(force: keys.isEmpty)
        }
        do {
            let claims = try JWT.verify(token, keys: keys, now: now)
            self.remember(claims, as: token, now: now)
            return claims
        } catch {
            throw RPCError(.unauthenticated, "invalid access token: \(error)")
        }
    }

    private func remember(_ claims: AccessClaims, as key: String, now: Int64) {
        self.state.withLockedValue { state in
            if state.verified.count >= self.cacheLimit {
                state.verified = state.verified.filter { $0.value.exp > now }
                if state.verified.count >= self.cacheLimit { state.verified.removeAll() }
            }
            state.verified[key] = claims
        }
    }

    private func knowsKey(of token: String, in keys: [String: Data]) -> Bool {
        guard let kid = try? JWT.keyID(of: token) else { return true }  // malformed: verify reports it
        return keys[kid] != nil
    }

    private func refreshKeys(force: Bool) async throws -> [String: Data] {
        let (mayFetch, current) = self.state.withLockedValue { state -> (Bool, [String: Data]) in
            if !force, let last = state.lastFetch, ContinuousClock.now - last < self.refetchInterval {
                return (false, state.keys)
            }
            state.lastFetch = .now
            return (true, state.keys)
        }
        guard mayFetch else { return current }
        let keys: [String: Data]
        do {
            keys = try await self.fetchKeys()
        } catch {
            throw RPCError(.unavailable, "cannot fetch token verification keys: \(error)")
        }
        self.state.withLockedValue { $0.keys = keys }
        return keys
    }
}

extension AccessClaims {
    /// The claims `AccessControlInterceptor` verified for the call being served, so the handler
    /// reads them without a second lookup.
    @TaskLocal public static var verified: AccessClaims?
}

extension ServerContext {
    /// The caller's verified claims from the `authorization: Bearer` metadata entry (those the
    /// access-control interceptor already verified for this call, when it did).
    public func authenticate(with verifier: TokenVerifier) async throws -> AccessClaims {
        if let verified = AccessClaims.verified { return verified }
        if let header = self.metadata["authorization"], let claims = try await verifier.verify(authorization: header) {
            return claims
        }
        guard let token = self.bearerToken else {
            throw RPCError(.unauthenticated, "missing access token (authorization: Bearer <token>)")
        }
        return try await verifier.verify(token)
    }

    /// Requires that the calling service, proven by its client certificate, is one of `services`.
    public func requirePeer(_ services: Set<String>) throws -> String {
        guard let peer = self.peerService, services.contains(peer) else {
            throw RPCError(.permissionDenied, "method \(self.method) is internal; caller \(self.peerService ?? "unknown") not allowed")
        }
        return peer
    }
}
