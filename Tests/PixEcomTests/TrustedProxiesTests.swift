import Foundation
import Testing

@testable import Edge

/// Who the client is behind a load balancer (`PIXECOM_TRUSTED_PROXIES` and `X-Forwarded-For`).
@Suite("Trusted proxies")
struct TrustedProxiesTests {
    static func proxies(_ text: String) throws -> TrustedProxies {
        try TrustedProxies.parse(text)
    }

    @Test("ranges: IPv4 and IPv6 prefixes and single addresses; IPv4-mapped IPv6 counts as IPv4; anything else is refused by name")
    func ranges() throws {
        let proxies = try Self.proxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
        for trusted in ["10.0.0.1", "10.255.255.255", "192.0.2.7", "2001:db8::1", "2001:db8:ffff::9", "::ffff:10.1.2.3"] {
            #expect(proxies.trusts(trusted), "\(trusted)")
        }
        for untrusted in ["11.0.0.1", "9.255.255.255", "192.0.2.8", "2001:db9::1", "::1", "127.0.0.1", "", "not-an-address"] {
            #expect(!proxies.trusts(untrusted), "\(untrusted)")
        }
        #expect(try Self.proxies("").isEmpty)
        #expect(!(try Self.proxies("")).trusts("127.0.0.1"))
        #expect(try Self.proxies("0.0.0.0/0").trusts("203.0.113.9"))
        #expect(try Self.proxies("172.16.0.0/12").trusts("172.31.255.1") && !(try Self.proxies("172.16.0.0/12")).trusts("172.32.0.1"))
        for bad in ["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0", "example.com", "10.0.0.0/"] {
            let error = #expect(throws: TrustedProxies.ParseError.self, "\(bad)") { try TrustedProxies.parse("127.0.0.1, \(bad)") }
            #expect(error?.entry == bad)
        }
    }

    @Test("the client is the rightmost forwarded address that is not a trusted proxy; what the client wrote itself is never taken")
    func client() throws {
        let proxies = try Self.proxies("10.0.0.0/8")
        func client(_ values: [String]) -> String {
            proxies.client(peer: "10.0.0.5", forwardedFor: values)
        }
        #expect(client([]) == "10.0.0.5", "no header: the proxy itself")
        #expect(client(["198.51.100.7"]) == "198.51.100.7")
        #expect(client(["203.0.113.9, 198.51.100.7, 10.0.0.3"]) == "198.51.100.7", "a forged address on the left is passed over")
        #expect(client(["203.0.113.9", "198.51.100.7"]) == "198.51.100.7", "several header lines read as one list")
        #expect(client(["10.0.0.1, 10.0.0.2"]) == "10.0.0.1", "only proxies: the farthest one")
        #expect(client(["garbage, 198.51.100.7"]) == "198.51.100.7")
        #expect(client(["198.51.100.7, garbage"]) == "10.0.0.5", "an entry that is no address stops at the last true hop")
        #expect(client(["198.51.100.7, 10.0.0.9, unknown"]) == "10.0.0.5")
        #expect(client(["198.51.100.7:5555"]) == "198.51.100.7", "a port is dropped")
        #expect(client(["[2001:db8::1]:443"]) == "2001:db8::1", "a bracketed IPv6 address with a port")
        #expect(client(["2001:db8::1"]) == "2001:db8::1")
        #expect(client([" 198.51.100.7 "]) == "198.51.100.7")
    }

    /// The addresses the audit log recorded for failed logins of `email` through the edge,
    /// each sent with `X-Forwarded-For: forwarded`.
    static func recordedAddresses(trusting proxies: String, forwarded: String) async throws -> [String] {
        let system = try await PixEcomSystem.start(edgeEnvironment: ["PIXECOM_TRUSTED_PROXIES": proxies])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        var addresses: [String] = []
        do {
            let owner = try await EndToEndTests.register(edge, name: "Proxied")
            let failed = try await edge.send(
                .POST, "/v1/auth/login", json: ["email": owner.email, "password": "wrong-password-1"],
                headers: [("X-Forwarded-For", forwarded)])
            #expect(failed.status == 401)
            let audit = try await edge.send(.GET, "/v1/audit-events", token: owner.token)
            #expect(audit.status == 200, "\(audit.text)")
            for case let event as [String: Any] in audit.json["events"] as? [Any] ?? [] where event["kind"] as? String == "login.failed" {
                addresses.append(JSONValues.string(event["sourceAddress"]))
            }
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
        return addresses
    }

    @Test(
        "through the edge: behind a trusted proxy the forwarded client is what login throttling and the audit log count; from anyone else the header is ignored"
    )
    func throughTheEdge() async throws {
        let trusted = try await Self.recordedAddresses(trusting: "127.0.0.1", forwarded: "203.0.113.66, 198.51.100.7")
        #expect(trusted == ["198.51.100.7"])
        let untrusted = try await Self.recordedAddresses(trusting: "10.0.0.0/8", forwarded: "198.51.100.7")
        #expect(untrusted == ["127.0.0.1"])
    }
}
