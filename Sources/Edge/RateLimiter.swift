import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import RPCKit
import ServiceKit

/// Rate limits before any route runs, answered 429 with `Retry-After`:
/// - the auth routes (register, login, refresh, logout, accepting an invitation) per client
///   address, since their callers have no seller yet and these are what password guessers hit;
/// - every other route per seller, the seller taken from a *verified* access token (an API key
///   is exchanged first), so nobody can spend another seller's budget by forging a token; a
///   request without a valid token is limited per client address instead (the service then
///   refuses it with 401).
///
/// - the public storefront routes (`/v1/storefront/{publicKey}/...`, a buyer's checkout) also
///   per sell page and client address (a buyer makes a few calls, so one address cannot spend a
///   page's budget), and per sell page as a backstop far above a page's real traffic: however
///   many addresses a flood comes from, one page takes at most that, and other pages are
///   untouched.
///
/// Limits are per edge replica: with N replicas behind a balancer a client gets up to N times
/// the budget. Thread-safe.
final class RateLimiter: Sendable {
    struct Configuration: Sendable {
        var auth: TokenBuckets.Limit
        var seller: TokenBuckets.Limit
        /// Per sell page and client address.
        var storefrontClient: TokenBuckets.Limit
        /// Per sell page, all addresses together.
        var storefront: TokenBuckets.Limit
    }

    /// Auth routes, by client address.
    private let auth: NIOLockedValueBox<TokenBuckets>
    /// Other routes, by verified seller id.
    private let seller: NIOLockedValueBox<TokenBuckets>
    /// Other routes without a valid token, by client address (the seller limit).
    private let unverified: NIOLockedValueBox<TokenBuckets>
    /// Storefront routes, by the sell page's public key and the client address, then by the
    /// public key alone (besides the client address's own bucket).
    private let storefrontClient: NIOLockedValueBox<TokenBuckets>
    private let storefront: NIOLockedValueBox<TokenBuckets>
    private let verifier: TokenVerifier
    private let apiKeys: ApiKeyExchanger

    init(configuration: Configuration, verifier: TokenVerifier, apiKeys: ApiKeyExchanger) {
        self.auth = NIOLockedValueBox(TokenBuckets(limit: configuration.auth))
        self.seller = NIOLockedValueBox(TokenBuckets(limit: configuration.seller))
        self.unverified = NIOLockedValueBox(TokenBuckets(limit: configuration.seller))
        self.storefrontClient = NIOLockedValueBox(TokenBuckets(limit: configuration.storefrontClient))
        self.storefront = NIOLockedValueBox(TokenBuckets(limit: configuration.storefront))
        self.verifier = verifier
        self.apiKeys = apiKeys
    }

    static func isAuthRoute(_ path: String) -> Bool {
        path.hasPrefix("/v1/auth/") || path == "/v1/invitations/accept"
    }

    static let storefrontPrefix = "/v1/storefront/"

    /// The public key a storefront route names, if it is one.
    static func storefrontKey(_ path: String) -> Substring? {
        guard path.hasPrefix(Self.storefrontPrefix) else { return nil }
        let rest = path.dropFirst(Self.storefrontPrefix.count)
        let key = rest.prefix { $0 != "/" && $0 != "?" }
        return key.isEmpty ? nil : key.prefix(64)
    }

    /// Takes a token from the request's bucket, or throws RESOURCE_EXHAUSTED with the delay to
    /// wait. Leaves in `context.authorization` what the services are to get for the caller's
    /// `Authorization` (an API key exchanged for a token).
    func admit(_ request: Request, context: inout EdgeRequestContext) async throws {
        let wait: Duration?
        if Self.isAuthRoute(request.uri.path) {
            wait = self.auth.withLockedValue { $0.take(context.clientAddress, now: .now) }
        } else if let sellerID = await self.verifiedSeller(request, context: &context) {
            wait = self.seller.withLockedValue { $0.take(sellerID, now: .now) }
        } else if let key = Self.storefrontKey(request.uri.path) {
            let address = context.clientAddress
            wait =
                self.unverified.withLockedValue { $0.take(address, now: .now) }
                ?? self.storefrontClient.withLockedValue { $0.take("\(key) \(address)", now: .now) }
                ?? self.storefront.withLockedValue { $0.take(String(key), now: .now) }
        } else {
            wait = self.unverified.withLockedValue { $0.take(context.clientAddress, now: .now) }
        }
        if let wait {
            let millis = UInt64(max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
            var error = RPCError(.resourceExhausted, "too many requests; try again in \(max(1, (millis + 999) / 1000)) seconds")
            error.retryDelayMillis = millis
            throw error
        }
    }

    /// The seller of a verified bearer token (an API key exchanged first, and the result kept in
    /// the context for the route); nil without one. A token verified before is answered from the
    /// verifier's cache without suspending.
    private func verifiedSeller(_ request: Request, context: inout EdgeRequestContext) async -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        if let cached = self.verifier.cached(authorization: header) {
            context.authorization = header
            return cached.claims.sellerID
        }
        guard let authorization = try? await self.apiKeys.authorization(for: header, requestID: context.requestID) else { return nil }
        context.authorization = authorization
        return try? await self.verifier.verified(authorization: authorization)?.claims.sellerID
    }
}
