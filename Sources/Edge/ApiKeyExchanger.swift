import Crypto
import Foundation
import NIOConcurrencyHelpers
import PixEcomProtos
import RPCKit
import ServiceKit

/// Turns `Authorization: Bearer pxk_...` into an access token the services verify: AuthService
/// exchanges the key for a 5-minute token, kept here for at most a minute (so a key's last use
/// is recorded about once a minute and a revoked key stops working within minutes). Cached by a
/// SHA-256 of the key, never the key itself. Thread-safe.
final class ApiKeyExchanger: Sendable {
    private struct Cached: Sendable {
        let authorization: String
        let until: ContinuousClock.Instant
    }

    private let auth: RPCClient
    private let cache = NIOLockedValueBox<[Data: Cached]>([:])
    private let cacheLimit = 10_000
    static let reuse: Duration = .seconds(60)
    private static let bearer = "Bearer "
    private static let bearerKeyPrefix = "Bearer " + ApiKeyFormat.prefix

    init(auth: RPCClient) {
        self.auth = auth
    }

    /// The `authorization` metadata for a request that presented `header`: a key's exchanged
    /// token, or the header itself when it is not an API key.
    func authorization(for header: String, requestID: String) async throws -> String {
        guard header.hasPrefix(Self.bearerKeyPrefix) else { return header }
        let key = String(header.dropFirst(Self.bearer.count))
        let digest = Data(SHA256.hash(data: Data(key.utf8)))
        let now = ContinuousClock.now
        if let cached = self.cache.withLockedValue({ $0[digest] }), cached.until > now {
            return cached.authorization
        }
        var request = Pixecom_Auth_V1_ExchangeApiKeyRequest()
        request.key = key
        let token = try await self.auth.unary(
            AuthMethods.exchangeApiKey, request, as: Pixecom_Auth_V1_ApiKeyToken.self, metadata: ["x-request-id": requestID])
        let authorization = Self.bearer + token.accessToken
        let lifetime = Duration.seconds(max(0, token.expiresIn - 30))
        let entry = Cached(authorization: authorization, until: now + min(Self.reuse, lifetime))
        self.cache.withLockedValue { cache in
            if cache.count >= self.cacheLimit {
                cache = cache.filter { $0.value.until > now }
                if cache.count >= self.cacheLimit { cache.removeAll() }
            }
            cache[digest] = entry
        }
        return authorization
    }
}
