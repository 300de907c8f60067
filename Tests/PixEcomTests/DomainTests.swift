import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import OrderService

/// Custom domains proven by DNS: the wire format (pure), then real lookups against dnsmasq, a
/// real DNS server the test starts on an ephemeral port with the records it needs.
@Suite("Custom domains")
struct DomainTests {
    @Test("a TXT query is RFC 1035 bytes; answers parse to their records, errors and truncation are told apart")
    func wireFormat() throws {
        let query = DNSMessage.txtQuery(id: 0x1234, name: "_x.shop.example.com")
        #expect(Array(query.prefix(12)) == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(
            Array(query.dropFirst(12)) == [2] + Array("_x".utf8) + [4] + Array("shop".utf8) + [7] + Array("example".utf8) + [3]
                + Array("com".utf8) + [0, 0, 16, 0, 1])
        // dnsmasq's answer to it, byte for byte (two records, the second in two strings; the
        // answers name the question by a compression pointer).
        var answer: [UInt8] = [0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0] + Array(query.dropFirst(12))
        answer += [0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 0, 0, 4, 3] + Array("abc".utf8)
        answer += [0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 0, 0, 6, 2] + Array("de".utf8) + [2] + Array("fg".utf8)
        #expect(try DNSMessage.parseTXTResponse(answer, id: 0x1234) == .records(["abc", "defg"]))
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.parseTXTResponse(answer, id: 0x9999) }
        #expect(throws: DNSMessage.Malformed.self) { try DNSMessage.parseTXTResponse(Array(answer.dropLast(3)), id: 0x1234) }
        var nxdomain = Array(answer.prefix(12))
        nxdomain[3] = 0x83
        #expect(try DNSMessage.parseTXTResponse(nxdomain, id: 0x1234) == .noSuchName)
        nxdomain[3] = 0x85
        #expect(try DNSMessage.parseTXTResponse(nxdomain, id: 0x1234) == .failure(code: 5))
        nxdomain[2] = 0x87
        #expect(try DNSMessage.parseTXTResponse(nxdomain, id: 0x1234) == .truncated)
        // Every prefix of an answer is refused or read, never a crash.
        for length in 0..<answer.count { _ = try? DNSMessage.parseTXTResponse(Array(answer.prefix(length)), id: 0x1234) }

        #expect(try DomainStore.hostName("Shop.Example.COM.") == "shop.example.com")
        for bad in [
            "localhost", "https://shop.example.com", "shop.example.com:443", "-a.example.com", "a..b.com", "1.2.3.4", "ex ample.com",
        ] {
            #expect(throws: (any Error).self, "\(bad)") { try DomainStore.hostName(bad) }
        }
    }

    /// dnsmasq answering TXT `records` on 127.0.0.1:`port` until stopped, and a record of its own
    /// (`ready.pixecom.test`, a value no other run has) by which `ready` knows it is this
    /// server that answers, not one stopped before it on the same port.
    final class DNSServer: Sendable {
        let process: Process
        let marker = UUID().uuidString

        init(port: Int, records: [(String, String)]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/dnsmasq")
            process.arguments =
                [
                    "--keep-in-foreground", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                    "--no-hosts",
                    "--conf-file=/dev/null", "--pid-file=", "--log-facility=-", "--txt-record=ready.pixecom.test,\(self.marker)",
                ] + records.map { "--txt-record=\($0.0),\($0.1)" }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            self.process = process
        }

        /// Waits until this server answers (dnsmasq binds within milliseconds of starting).
        func ready(port: Int) async throws {
            let resolver = DNSResolver(
                server: try SocketAddress(ipAddress: "127.0.0.1", port: port), timeout: .milliseconds(200), attempts: 1)
            // Up to about 50 s: the whole suite may be loading the machine.
            for _ in 0..<200 {
                if case .records(let records) = try? await resolver.txt("ready.pixecom.test"), records == [self.marker] { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestSetupError("dnsmasq did not answer on port \(port)")
        }

        /// Stops the server and waits until its process is gone. (Not `waitUntilExit()`: it waits
        /// on a run loop that a test's task never runs.)
        func stop() async {
            let pid = self.process.processIdentifier
            kill(pid, SIGKILL)
            for _ in 0..<250 where self.process.isRunning || kill(pid, 0) == 0 {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    static func freeUDPPort() async throws -> Int {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        return port
    }

    @Test("the resolver reads dnsmasq's TXT records, and gives up on a server that does not answer")
    func resolver() async throws {
        let port = try await Self.freeUDPPort()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let silent = DNSResolver(server: address, timeout: .milliseconds(300), attempts: 2)
        await #expect(throws: DNSResolver.Failure.self) { try await silent.txt("_x.example.com") }
        let server = try DNSServer(port: port, records: [("_x.example.com", "one"), ("_x.example.com", "two")])
        try await server.ready(port: port)
        let answer = try await DNSResolver(server: address).txt("_x.example.com")
        await server.stop()
        guard case .records(let records) = answer else {
            Issue.record("\(answer)")
            return
        }
        #expect(records.sorted() == ["one", "two"])
    }

    @Test("a domain is verified only by its TXT record in DNS, for one seller at most, and loses it when the record goes")
    func verificationByDNS() async throws {
        let port = try await Self.freeUDPPort()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let system = try await PixEcomSystem.start(ordersEnvironment: ["PIXECOM_DNS_SERVER": "127.0.0.1:\(port)"])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        var server: DNSServer?
        do {
            let a = try await EndToEndTests.register(edge, name: "DomainA")
            let b = try await EndToEndTests.register(edge, name: "DomainB")
            let added = try await edge.send(.POST, "/v1/domains", json: ["domain": "Shop.Example.com"], token: a.token)
            #expect(added.status == 200, "\(added.text)")
            #expect(JSONValues.string(added.json["domain"]) == "shop.example.com")
            #expect(JSONValues.string(added.json["status"]) == "PENDING_VERIFICATION")
            let name = JSONValues.string(added.json["recordName"])
            let value = JSONValues.string(added.json["recordValue"])
            #expect(name == "_pixecom-challenge.shop.example.com" && value.hasPrefix("pixecom-domain-verification="))
            let bad = try await edge.send(.POST, "/v1/domains", json: ["domain": "https://shop.example.com/x"], token: a.token)
            #expect(bad.status == 400 && PaymentTests.field(bad) == "domain", "\(bad.text)")
            func verify(_ seller: EndToEndTests.Seller) async throws -> EdgeHTTPClient.Reply {
                try await edge.send(.POST, "/v1/domains/shop.example.com/verify", json: [:], token: seller.token)
            }

            // No DNS server answering: the check fails and says why; nothing is verified.
            let silent = try await verify(a)
            #expect(JSONValues.string(silent.json["status"]) == "PENDING_VERIFICATION", "\(silent.text)")
            #expect(JSONValues.string(silent.json["lastError"]).contains("DNS lookup failed"), "\(silent.text)")

            // A record with another value: not proof.
            server = try DNSServer(port: port, records: [(name, "pixecom-domain-verification=someone-else")])
            try await server?.ready(port: port)
            let wrong = try await verify(a)
            #expect(JSONValues.string(wrong.json["status"]) == "PENDING_VERIFICATION")
            #expect(JSONValues.string(wrong.json["lastError"]).contains("do not include"), "\(wrong.text)")
            await server?.stop()

            // B claims the same domain; both records are published, A proves it first.
            let claimB = try await edge.send(.POST, "/v1/domains", json: ["domain": "shop.example.com"], token: b.token)
            let valueB = JSONValues.string(claimB.json["recordValue"])
            #expect(valueB != value)
            server = try DNSServer(port: port, records: [(name, value), (name, valueB)])
            try await server?.ready(port: port)
            let verified = try await verify(a)
            #expect(JSONValues.string(verified.json["status"]) == "VERIFIED", "\(verified.text)")
            #expect(!JSONValues.string(verified.json["verifyTime"]).isEmpty)
            let taken = try await verify(b)
            #expect(taken.status == 422 && PaymentTests.message(taken).contains("already verified for another seller"), "\(taken.text)")
            await server?.stop()

            // The record removed: the next check takes the verification back.
            server = try DNSServer(port: port, records: [(name, valueB)])
            try await server?.ready(port: port)
            let withdrawn = try await verify(a)
            #expect(JSONValues.string(withdrawn.json["status"]) == "PENDING_VERIFICATION", "\(withdrawn.text)")
            // Now B's record proves B's claim.
            #expect(JSONValues.string(try await verify(b).json["status"]) == "VERIFIED")
            let listed = try await edge.send(.GET, "/v1/domains", token: b.token)
            #expect((listed.json["domains"] as? [[String: Any]])?.map { JSONValues.string($0["status"]) } == ["VERIFIED"])
            let unknown = try await edge.send(.POST, "/v1/domains/other.example.com/verify", json: [:], token: a.token)
            #expect(unknown.status == 404, "\(unknown.text)")

            // The periodic re-check: without an answer from DNS, B's domain stays verified (the
            // problem recorded); once the record no longer holds B's token, it is taken back.
            await server?.stop()
            server = nil
            try await system.databases["orders"]!.withAppClient(connections: 1) { db in
                let resolver = DNSResolver(server: address, timeout: .milliseconds(300), attempts: 1)
                let recheck = DomainRecheck(store: DomainStore(db: db, resolver: resolver), interval: .zero)
                let unanswered = try await recheck.recheck(logger: Logger(label: "test.domains"))
                #expect(unanswered.map(\.domain) == ["shop.example.com"] && unanswered.allSatisfy(\.verified), "\(unanswered)")
            }
            let kept = try await edge.send(.GET, "/v1/domains", token: b.token)
            let keptDomain = (kept.json["domains"] as? [[String: Any]])?.first ?? [:]
            #expect(JSONValues.string(keptDomain["status"]) == "VERIFIED", "\(kept.text)")
            #expect(JSONValues.string(keptDomain["lastError"]).contains("DNS lookup failed"), "\(kept.text)")
            server = try DNSServer(port: port, records: [(name, "pixecom-domain-verification=someone-else")])
            try await server?.ready(port: port)
            try await system.databases["orders"]!.withAppClient(connections: 1) { db in
                let recheck = DomainRecheck(store: DomainStore(db: db, resolver: DNSResolver(server: address)), interval: .zero)
                let answered = try await recheck.recheck(logger: Logger(label: "test.domains"))
                #expect(answered.map(\.domain) == ["shop.example.com"] && answered.allSatisfy { !$0.verified }, "\(answered)")
                #expect(try await recheck.recheck(logger: Logger(label: "test.domains")).isEmpty, "no verified domain is left to check")
            }
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await server?.stop()
        try await edge.shutdown()
        await system.stop()
    }
}
