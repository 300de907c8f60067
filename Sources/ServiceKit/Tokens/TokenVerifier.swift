import Crypto
import Foundation
import NIOConcurrencyHelpers
import RPCKit

/// Verifies access tokens with AuthService's public keys.
///
/// Keys come from `fetchKeys` (an RPC to AuthService, or the local key store inside AuthService),
/// are cached, and are fetched again when a token names an unknown `kid` (at most once per
/// `refetchInterval`, so garbage tokens cannot hammer AuthService) and when a token is verified
/// with keys older than `maxKeyAge` (so a key AuthService stops publishing, such as a withdrawn
/// one, stops verifying here too; if that fetch fails the keys at hand are kept). Successful
/// verifications are cached per token until it expires, so a hot path pays for Ed25519 once per
/// token.
///
/// Thread-safe.
public final class TokenVerifier: Sendable {
    /// Returns the raw 32-byte Ed25519 public keys by key id.
    public typealias KeyFetcher = @Sendable () async throws -> [String: Data]

    private struct State: Sendable {
        var keys: [String: Data] = [:]
        var lastFetch: ContinuousClock.Instant?
        var verified: [CacheKey: VerifiedToken] = [:]
    }

    private let fetchKeys: KeyFetcher
    private let state = NIOLockedValueBox(State())
    private let refetchInterval: Duration
    private let maxKeyAge: Duration
    private let cacheLimit: Int

    public init(
        refetchInterval: Duration = .seconds(5), maxKeyAge: Duration = .seconds(60), cacheLimit: Int = 10_000,
        fetchKeys: @escaping KeyFetcher
    ) {
        self.fetchKeys = fetchKeys
        self.refetchInterval = refetchInterval
        self.maxKeyAge = maxKeyAge
        self.cacheLimit = cacheLimit
    }

    private static let bearer = "Bearer "

    /// The claims of an `authorization` header value `Bearer <token>`; nil when the header is
    /// not a bearer one.
    public func verify(authorization header: String) async throws -> AccessClaims? {
        try await self.verified(authorization: header)?.claims
    }

    /// The verified token of an `authorization` header value `Bearer <token>` (claims and parsed
    /// role); nil when the header is not a bearer one.
    public func verified(authorization header: String) async throws -> VerifiedToken? {
        guard let token = Self.bearerToken(header) else { return nil }
        return try await self.verified(token: token)
    }

    /// The unexpired verified token of this `authorization` header value, if it is cached: the
    /// hot path, without suspending and without copying the token.
    public func cached(authorization header: String) -> VerifiedToken? {
        guard let token = Self.bearerToken(header) else { return nil }
        return self.cached(CacheKey(token), now: Self.secondsSince1970(coarse: true))
    }

    /// The verified claims, or `UNAUTHENTICATED` naming what was wrong.
    public func verify(_ token: String) async throws -> AccessClaims {
        try await self.verified(token: token[...]).claims
    }

    /// The verified token, or `UNAUTHENTICATED` naming what was wrong. Cached per token, whether
    /// it came bare or inside a header.
    public func verified(token: Substring) async throws -> VerifiedToken {
        if let cached = self.cached(CacheKey(token), now: Self.secondsSince1970(coarse: true)) { return cached }
        let now = Self.secondsSince1970()
        let token = String(token)
        var (keys, fetchedAt) = self.state.withLockedValue { ($0.keys, $0.lastFetch) }
        if keys.isEmpty || !self.knowsKey(of: token, in: keys) {
            keys = try await self.refreshKeys(force: keys.isEmpty)
        } else if let fetchedAt, ContinuousClock.now - fetchedAt > self.maxKeyAge {
            keys = (try? await self.refreshKeys(force: false)) ?? keys
        }
        do {
            let verified = VerifiedToken(try JWT.verify(token, keys: keys, now: now))
            self.remember(verified, as: CacheKey(token[...]), now: now)
            return verified
        } catch {
            throw RPCError(.unauthenticated, "invalid access token: \(error)")
        }
    }

    /// The token of `Bearer <token>`, as a slice of the header (UTF-8 offsets: `dropFirst` would
    /// walk grapheme clusters).
    private static func bearerToken(_ header: String) -> Substring? {
        guard header.utf8.starts(with: Self.bearer.utf8) else { return nil }
        return header[header.utf8.index(header.startIndex, offsetBy: Self.bearer.utf8.count)...]
    }

    private func cached(_ key: CacheKey, now: Int64) -> VerifiedToken? {
        guard let cached = self.state.withLockedValue({ $0.verified[key] }), cached.claims.exp + JWT.leewaySeconds > now else {
            return nil
        }
        return cached
    }

    private func remember(_ verified: VerifiedToken, as key: CacheKey, now: Int64) {
        self.state.withLockedValue { state in
            if state.verified.count >= self.cacheLimit {
                state.verified = state.verified.filter { $0.value.claims.exp + JWT.leewaySeconds > now }
                if state.verified.count >= self.cacheLimit { state.verified.removeAll() }
            }
            state.verified[key] = verified
        }
    }

    /// Wall-clock seconds, as token expiry is written. The coarse clock (last timer tick, a few
    /// ms old) is enough to compare with an expiry in whole seconds, and costs less per call.
    private static func secondsSince1970(coarse: Bool = false) -> Int64 {
        var now = timespec()
        clock_gettime(coarse ? CLOCK_REALTIME_COARSE : CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
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

/// A token that verified: its claims and its role, parsed once when the token was first seen.
/// A class, so the cache and the call being served share one copy instead of copying the claims'
/// strings.
public final class VerifiedToken: Sendable {
    public let claims: AccessClaims
    /// nil when the token names a role this build does not know.
    public let role: Role?

    init(_ claims: AccessClaims) {
        self.claims = claims
        self.role = Role(text: claims.role)
    }
}

/// A cache key for a token (a slice, so one inside an `authorization` header is not copied):
/// hashed over its length and last 16 bytes only (the end of the Ed25519 signature, which differs
/// between any two tokens), compared whole. Hashing the whole ~450-byte token was most of a cache
/// hit's cost. Only verified tokens are stored, so nobody can fill the cache with colliding keys.
struct CacheKey: Hashable, Sendable {
    let token: Substring

    init(_ token: Substring) {
        self.token = token
    }

    static func == (lhs: CacheKey, rhs: CacheKey) -> Bool {
        let (left, right) = (lhs.token.utf8, rhs.token.utf8)
        guard left.count == right.count else { return false }
        // Native strings are contiguous: one memcmp instead of a byte-by-byte walk.
        let compared = left.withContiguousStorageIfAvailable { a in
            right.withContiguousStorageIfAvailable { b in
                a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
            }
        }
        return (compared ?? nil) ?? left.elementsEqual(right)
    }

    func hash(into hasher: inout Hasher) {
        let utf8 = self.token.utf8
        hasher.combine(utf8.count)
        let hashed: Void? = utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(16))))
        }
        if hashed == nil {
            for byte in utf8.suffix(16) { hasher.combine(byte) }
        }
    }
}

extension ServerContext {
    /// The caller's verified claims from the `authorization: Bearer` metadata entry (those the
    /// access-control interceptor already verified for this call, when it did).
    public func authenticate(with verifier: TokenVerifier) async throws -> AccessClaims {
        try await self.verifiedToken(with: verifier).claims
    }

    /// The caller's verified token, as `authenticate(with:)` finds it.
    public func verifiedToken(with verifier: TokenVerifier) async throws -> VerifiedToken {
        if let verified = self.caller as? VerifiedToken { return verified }
        return try await self.verifiedToken(with: verifier, authorization: self.metadata["authorization"])
    }

    /// The verified token of this `authorization` value (the call's metadata entry).
    func verifiedToken(with verifier: TokenVerifier, authorization header: String?) async throws -> VerifiedToken {
        guard let header, let verified = try await verifier.verified(authorization: header) else {
            throw RPCError(.unauthenticated, "missing access token (authorization: Bearer <token>)")
        }
        return verified
    }

    /// Requires that the calling service, proven by its client certificate, is one of `services`.
    public func requirePeer(_ services: Set<String>) throws -> String {
        guard let peer = self.peerService, services.contains(peer) else {
            throw RPCError(.permissionDenied, "method \(self.method) is internal; caller \(self.peerService ?? "unknown") not allowed")
        }
        return peer
    }
}
