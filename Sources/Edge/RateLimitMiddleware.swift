import Crypto
import Foundation
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
/// Limits are per edge replica: with N replicas behind a balancer a client gets up to N times
/// the budget.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    struct Configuration: Sendable {
        var auth: TokenBuckets.Limit
        var seller: TokenBuckets.Limit
    }

    private let auth: NIOLockedValueBox<TokenBuckets>
    private let seller: NIOLockedValueBox<TokenBuckets>
    private let verifier: TokenVerifier
    private let apiKeys: ApiKeyExchanger

    init(configuration: Configuration, verifier: TokenVerifier, apiKeys: ApiKeyExchanger) {
        self.auth = NIOLockedValueBox(TokenBuckets(limit: configuration.auth))
        self.seller = NIOLockedValueBox(TokenBuckets(limit: configuration.seller))
        self.verifier = verifier
        self.apiKeys = apiKeys
    }

    static func isAuthRoute(_ path: String) -> Bool {
        path.hasPrefix("/v1/auth/") || path == "/v1/invitations/accept"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = ContinuousClock.now
        let wait: Duration?
        if Self.isAuthRoute(request.uri.path) {
            wait = self.auth.withLockedValue { $0.take("address:" + context.clientAddress, now: now) }
        } else {
            let key = await self.sellerKey(request, context: context)
            wait = self.seller.withLockedValue { $0.take(key, now: now) }
        }
        if let wait {
            let millis = UInt64(max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
            var error = RPCError(.resourceExhausted, "too many requests; try again in \(max(1, (millis + 999) / 1000)) seconds")
            error.retryDelayMillis = millis
            throw error
        }
        return try await next(request, context)
    }

    /// `seller:<id>` from a verified token, else `address:<client address>`.
    private func sellerKey(_ request: Request, context: Context) async -> String {
        let fallback = "address:" + context.clientAddress
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return fallback }
        guard let authorization = try? await self.apiKeys.authorization(for: header, requestID: context.requestID) else { return fallback }
        guard let claims = try? await self.verifier.verify(String(authorization.dropFirst("Bearer ".count))) else { return fallback }
        return "seller:" + claims.sellerID
    }
}
