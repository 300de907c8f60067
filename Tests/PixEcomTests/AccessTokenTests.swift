import Crypto
import Foundation
import RPCKit
import ServiceKit
import Testing

/// Access-token verification as every service does it (`TokenVerifier` over `JWT`): only a
/// well-formed EdDSA JWT signed by a published key, for this issuer and audience, within its
/// lifetime, passes; everything else is UNAUTHENTICATED.
@Suite("Access tokens")
struct AccessTokenTests {
    let key = Curve25519.Signing.PrivateKey()
    let otherKey = Curve25519.Signing.PrivateKey()
    var kid: String { JWT.keyID(for: self.key.publicKey) }

    func claims(now: Int64 = Int64(Date().timeIntervalSince1970), sellerID: String = UUID().uuidString.lowercased()) -> AccessClaims {
        AccessClaims(
            sub: UUID().uuidString.lowercased(), sellerID: sellerID, role: "EDITOR", plan: "free",
            iat: now, exp: now + AccessClaims.lifetimeSeconds, jti: UUID().uuidString.lowercased())
    }

    func verifier(_ keys: [Curve25519.Signing.PublicKey]) -> TokenVerifier {
        let published = Dictionary(uniqueKeysWithValues: keys.map { (JWT.keyID(for: $0), $0.rawRepresentation) })
        return TokenVerifier(refetchInterval: .zero) { published }
    }

    /// Re-encodes part `index` (0 header, 1 payload) of `token` after `edit`, keeping the rest.
    func edited(_ token: String, part index: Int, _ edit: (inout [String: Any]) -> Void) throws -> String {
        var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let data = try #require(JWT.decodeBase64URL(parts[index]))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        parts[index] = JWT.base64URL(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        return parts.joined(separator: ".")
    }

    func expectUnauthenticated(_ token: String, with verifier: TokenVerifier, _ comment: Comment) async {
        let error = await #expect(throws: RPCError.self, comment) { _ = try await verifier.verify(token) }
        #expect(error?.code == .unauthenticated, comment)
    }

    @Test("a token signed with a published key verifies, and so does one under the previous key during rotation")
    func validTokens() async throws {
        let verifier = self.verifier([self.key.publicKey, self.otherKey.publicKey])
        let claims = self.claims()
        let current = try JWT.sign(claims, kid: self.kid, key: self.key)
        #expect(try await verifier.verify(current) == claims)
        let previous = try JWT.sign(claims, kid: JWT.keyID(for: self.otherKey.publicKey), key: self.otherKey)
        #expect(try await verifier.verify(previous) == claims)
    }

    @Test("alg none, HS256, a wrong type, a wrong key, an unknown kid, expiry, audience, issuer and an edited seller id are refused")
    func refusedTokens() async throws {
        let verifier = self.verifier([self.key.publicKey])
        let token = try JWT.sign(self.claims(), kid: self.kid, key: self.key)

        let none = try self.edited(token, part: 0) { $0["alg"] = "none" }
        let parts = none.split(separator: ".", omittingEmptySubsequences: false)
        await self.expectUnauthenticated(parts[0] + "." + parts[1] + ".", with: verifier, "alg none, empty signature")
        await self.expectUnauthenticated(none, with: verifier, "alg none, signature kept")
        await self.expectUnauthenticated(try self.edited(token, part: 0) { $0["alg"] = "HS256" }, with: verifier, "HS256")
        await self.expectUnauthenticated(try self.edited(token, part: 0) { $0["typ"] = "at+jwt+other" }, with: verifier, "wrong typ")

        let wrongKey = try JWT.sign(self.claims(), kid: self.kid, key: self.otherKey)
        await self.expectUnauthenticated(wrongKey, with: verifier, "signed by another key under a known kid")
        let unknownKid = try JWT.sign(self.claims(), kid: "not-a-published-kid", key: self.key)
        await self.expectUnauthenticated(unknownKid, with: verifier, "unknown kid")

        let longAgo = Int64(Date().timeIntervalSince1970) - 2 * AccessClaims.lifetimeSeconds
        await self.expectUnauthenticated(try JWT.sign(self.claims(now: longAgo), kid: self.kid, key: self.key), with: verifier, "expired")
        var wrongAudience = self.claims()
        wrongAudience.aud = "somebody-else"
        await self.expectUnauthenticated(try JWT.sign(wrongAudience, kid: self.kid, key: self.key), with: verifier, "wrong audience")
        var wrongIssuer = self.claims()
        wrongIssuer.iss = "evil-auth"
        await self.expectUnauthenticated(try JWT.sign(wrongIssuer, kid: self.kid, key: self.key), with: verifier, "wrong issuer")

        let otherSeller = UUID().uuidString.lowercased()
        await self.expectUnauthenticated(try self.edited(token, part: 1) { $0["sid"] = otherSeller }, with: verifier, "edited seller id")
        await self.expectUnauthenticated("not.a.token", with: verifier, "garbage")
        await self.expectUnauthenticated("", with: verifier, "empty")
    }

    @Test("a verified token is cached: the key set is not consulted again for it")
    func cachedVerification() async throws {
        let fetches = Counter()
        let published = [self.kid: self.key.publicKey.rawRepresentation]
        let verifier = TokenVerifier(refetchInterval: .seconds(3600)) {
            fetches.increment()
            return published
        }
        let token = try JWT.sign(self.claims(), kid: self.kid, key: self.key)
        for _ in 0..<100 { _ = try await verifier.verify(token) }
        #expect(fetches.value == 1)
        // A token under an unknown kid may refetch the set, but at most once per interval.
        for _ in 0..<10 {
            _ = try? await verifier.verify(try JWT.sign(self.claims(), kid: "rotated-\(UUID())", key: self.key))
        }
        #expect(fetches.value == 1)
    }

    @Test(
        "keys older than the maximum age are fetched again: a key no longer published stops verifying new tokens, and a failed fetch keeps the keys at hand"
    )
    func staleKeysAreRefetched() async throws {
        let keySet = KeySet([self.kid: self.key.publicKey.rawRepresentation])
        let verifier = TokenVerifier(refetchInterval: .zero, maxKeyAge: .zero) { try keySet.fetch() }
        _ = try await verifier.verify(try JWT.sign(self.claims(), kid: self.kid, key: self.key))
        // AuthService unreachable: the keys fetched before still verify.
        keySet.set(nil)
        _ = try await verifier.verify(try JWT.sign(self.claims(), kid: self.kid, key: self.key))
        // The key withdrawn: a new token under it is refused once the set is fetched again.
        keySet.set([JWT.keyID(for: self.otherKey.publicKey): self.otherKey.publicKey.rawRepresentation])
        await self.expectUnauthenticated(try JWT.sign(self.claims(), kid: self.kid, key: self.key), with: verifier, "withdrawn key")
        _ = try await verifier.verify(try JWT.sign(self.claims(), kid: JWT.keyID(for: self.otherKey.publicKey), key: self.otherKey))
    }
}

/// A key set that a test changes under a verifier; nil makes fetching fail.
final class KeySet: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: Data]?

    init(_ keys: [String: Data]?) { self.keys = keys }

    func set(_ keys: [String: Data]?) { self.lock.withLock { self.keys = keys } }

    func fetch() throws -> [String: Data] {
        guard let keys = self.lock.withLock({ self.keys }) else { throw RPCError(.unavailable, "AuthService is down") }
        return keys
    }
}

/// A thread-safe counter for the tests.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { self.lock.withLock { self.count += 1 } }
    var value: Int { self.lock.withLock { self.count } }
}
