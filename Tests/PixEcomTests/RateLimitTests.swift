import Foundation
import Testing

@testable import Edge

/// Token buckets (pure) and the edge's rate limits over a running system.
@Suite("Rate limits")
struct RateLimitTests {
    let start = ContinuousClock.now

    @Test("a bucket allows its burst, then one request per refill interval, and says how long to wait")
    func burstThenRefill() {
        var buckets = TokenBuckets(limit: .init(perSecond: 2, burst: 3))
        for _ in 0..<3 { #expect(buckets.take("a", now: self.start) == nil) }
        #expect(buckets.take("a", now: self.start) == .milliseconds(500))
        #expect(buckets.take("b", now: self.start) == nil, "keys are independent")
        #expect(buckets.take("a", now: self.start + .milliseconds(499)) != nil)
        #expect(buckets.take("a", now: self.start + .milliseconds(500)) == nil)
        #expect(buckets.take("a", now: self.start + .seconds(100)) == nil, "refills up to the burst")
        for _ in 0..<2 { #expect(buckets.take("a", now: self.start + .seconds(100)) == nil) }
        #expect(buckets.take("a", now: self.start + .seconds(100)) != nil, "never more than the burst")
    }

    @Test("memory stays bounded: idle buckets are dropped when the key limit is reached")
    func boundedKeys() {
        var buckets = TokenBuckets(limit: .init(perSecond: 1, burst: 2), maxKeys: 100)
        for index in 0..<10_000 {
            _ = buckets.take("key-\(index)", now: self.start + .seconds(index))
        }
        #expect(buckets.count <= 100)
        // A busy key survives eviction: its state is kept while it is not full.
        var busy = TokenBuckets(limit: .init(perSecond: 0.001, burst: 2), maxKeys: 10)
        _ = busy.take("busy", now: self.start)
        _ = busy.take("busy", now: self.start)
        for index in 0..<50 { _ = busy.take("idle-\(index)", now: self.start) }
        #expect(busy.take("busy", now: self.start) != nil, "the drained bucket was not reset by eviction")
    }

    @Test(
        "the edge limits auth routes per client address and other routes per verified seller, with 429 and Retry-After; every answer carries the security headers"
    )
    func edgeLimits() async throws {
        let system = try await PixEcomSystem.start(edgeEnvironment: [
            "PIXECOM_RATE_AUTH_PER_MINUTE": "1", "PIXECOM_RATE_AUTH_BURST": "6",
            "PIXECOM_RATE_SELLER_PER_MINUTE": "1", "PIXECOM_RATE_SELLER_BURST": "5",
        ])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            // Two registrations and two logins: 4 of the address's 6 auth requests. The bucket
            // refills one a minute, so on a slow machine a refill or two may come in between: the
            // limit must bite after the burst's 2 left plus at most a few refills.
            let a = try await EndToEndTests.register(edge, name: "LimitA")
            let b = try await EndToEndTests.register(edge, name: "LimitB")
            var statuses: [Int] = []
            while statuses.count < 8, statuses.last != 429 {
                statuses.append(
                    try await edge.send(.POST, "/v1/auth/login", json: ["email": a.email, "password": "wrong-password-1"]).status)
            }
            #expect(statuses.last == 429, "\(statuses)")
            #expect(statuses.dropLast().allSatisfy { $0 == 401 } && statuses.count >= 3, "the burst is honoured first: \(statuses)")
            let limited = try await edge.send(.POST, "/v1/auth/login", json: ["email": a.email, "password": a.password])
            #expect(limited.status == 429)
            #expect(Int(limited.headers["Retry-After"].first ?? "") ?? 0 >= 1)
            #expect(limited.text.contains("RESOURCE_EXHAUSTED"))

            // Seller A spends its 5; seller B is untouched; a token forged with A's seller id
            // counts against the sender's address, not against A.
            var sellerStatuses: [Int] = []
            while sellerStatuses.count < 9, sellerStatuses.last != 429 {
                sellerStatuses.append(try await edge.send(.GET, "/v1/campaigns", token: a.token).status)
            }
            #expect(sellerStatuses.last == 429 && sellerStatuses.count >= 6, "\(sellerStatuses)")
            #expect(sellerStatuses.dropLast().allSatisfy { $0 == 200 }, "\(sellerStatuses)")
            let untouched = try await edge.send(.GET, "/v1/campaigns", token: b.token)
            #expect(untouched.status == 200)
            let forged = try EndToEndTests.forge(token: b.token, sellerID: a.sellerID)
            let unauthenticated = try await edge.send(.GET, "/v1/campaigns", token: forged)
            #expect(unauthenticated.status == 401)

            // Every answer carries the security headers, errors (429, 401, 404) included.
            let noRoute = try await edge.send(.GET, "/v1/no-such-route", token: b.token)
            #expect(noRoute.status == 404)
            for reply in [untouched, limited, unauthenticated, noRoute] {
                #expect(reply.headers["Cache-Control"].first == "no-store", "\(reply.status)")
                #expect(reply.headers["X-Content-Type-Options"].first == "nosniff", "\(reply.status)")
                #expect(reply.headers["X-Frame-Options"].first == "DENY", "\(reply.status)")
                #expect(reply.headers["Strict-Transport-Security"].first == "max-age=63072000", "\(reply.status)")
                #expect(reply.headers["Referrer-Policy"].first == "no-referrer", "\(reply.status)")
                #expect(reply.headers["Content-Security-Policy"].first == "default-src 'none'; frame-ancestors 'none'", "\(reply.status)")
                #expect(reply.headers["X-Request-Id"].first?.isEmpty == false, "\(reply.status)")
            }
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }

    @Test(
        "a storefront page takes a few checkouts per client address, and at most its own rate from all of them; other pages are untouched")
    func storefrontLimit() async throws {
        // 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names the client.
        let system = try await PixEcomSystem.start(edgeEnvironment: [
            "PIXECOM_RATE_STOREFRONT_CLIENT_PER_MINUTE": "1", "PIXECOM_RATE_STOREFRONT_CLIENT_BURST": "3",
            "PIXECOM_RATE_STOREFRONT_PER_MINUTE": "1", "PIXECOM_RATE_STOREFRONT_BURST": "5", "PIXECOM_TRUSTED_PROXIES": "127.0.0.1",
        ])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            // Keys no page has: each answer is the service's (404) until a bucket is empty. The
            // buckets refill one a minute: on a slow machine one refill may come in.
            let busy = "pk_" + String(repeating: "a", count: 24)
            func checkout(_ key: String, from client: String) async throws -> Int {
                try await edge.send(
                    .POST, "/v1/storefront/\(key)/checkout", json: [:],
                    headers: [("Idempotency-Key", UUID().uuidString), ("X-Forwarded-For", client)]
                ).status
            }
            var statuses: [Int] = []
            while statuses.count < 6, statuses.last != 429 { statuses.append(try await checkout(busy, from: "10.0.0.1")) }
            #expect(statuses.last == 429 && statuses.count >= 4, "one address: its 3 first, then 429: \(statuses)")
            #expect(statuses.dropLast().allSatisfy { $0 != 429 }, "\(statuses)")
            // Another address still gets through, until the page's own budget (5) is spent.
            var others: [Int] = []
            while others.count < 6, others.last != 429 { others.append(try await checkout(busy, from: "10.0.0.\(others.count + 2)")) }
            #expect(others.last == 429 && others.count >= 3, "the page's budget, from many addresses: \(others)")
            // Another page is untouched, from any of them.
            #expect(try await checkout("pk_" + String(repeating: "b", count: 24), from: "10.0.0.1") != 429)
            #expect(RateLimiter.storefrontKey("/v1/storefront/pk_x/checkout") == "pk_x")
            #expect(RateLimiter.storefrontKey("/v1/orders") == nil && RateLimiter.storefrontKey("/v1/storefront/") == nil)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
