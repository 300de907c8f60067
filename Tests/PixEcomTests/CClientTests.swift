import Foundation
import Testing

/// The protocol as an outsider speaks it: `pixrpc-client` (Tests/CClient), written in C against
/// protobuf-c and OpenSSL from the .proto files alone, calls `EchoService` on a real RPCKit server
/// over mutual TLS. Its output is line-oriented text, checked here exactly.
@Suite("C client (protobuf-c + OpenSSL) against RPCKit")
struct CClientTests {
    let certificates: TestCertificates

    init() throws {
        self.certificates = try TestCertificates.shared.get()
    }

    /// Connection options for `server`: presents `identity`'s certificate, expects `service`'s.
    private func connection(
        _ server: EchoServer,
        identity: String = "orders",
        service: String = "stats",
        certificates: TestCertificates? = nil
    ) -> [String] {
        let own = certificates ?? self.certificates
        return [
            "--host", "127.0.0.1", "--port", "\(server.port)",
            "--ca", self.certificates.path("ca.pem"),
            "--cert", own.path("\(identity).pem"), "--key", own.path("\(identity).key"),
            "--service", service, "--timeout-ms", "10000",
        ]
    }

    @Test func unaryEchoCarriesPayloadMetadataAndIdentity() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let output = try await CClient.run(
            self.connection(server) + ["-m", "X-Request-ID=c-client-1", "-m", "idempotency-key=k 1", "echo", "hello", "second call"]
        )
        #expect(output.status == 0, "\(output)")
        #expect(
            output.stdout == """
                payload: hello
                status: OK (0)
                payload: second call
                status: OK (0)

                """,
            "\(output)"
        )
        let observed = server.observed.withLockedValue { $0 }
        #expect(observed.calls == 2)
        #expect(observed.lastPeer == "orders")
        #expect(observed.lastMetadata == ["x-request-id": "c-client-1", "idempotency-key": "k 1"])
        // Unary calls carry an explicit deadline: --timeout-ms (10 s) as timeout_micros.
        let remaining = try #require(observed.lastRemaining, "the C client sends timeout_micros")
        #expect(remaining > .seconds(9) && remaining <= .seconds(10), "timeout_micros is in microseconds: \(remaining)")
        await server.stop()
    }

    @Test func serverStreamArrivesInOrderWithASmallWindow() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let output = try await CClient.run(self.connection(server) + ["--window", "2", "expand", "x", "50"])
        #expect(output.status == 0, "\(output)")
        let expected = (0..<50).map { "message \($0): x\n" }.joined() + "status: OK (0)\n"
        #expect(output.stdout == expected, "\(output)")
        let observed = try await server.wait(timeout: .seconds(60)) { $0.streamsEnded == 1 }
        #expect(observed.streamed == 50)
        #expect(observed.cancelled == 0)
        await server.stop()
    }

    /// The client grants 2 messages and holds back its first WindowUpdate until the test creates
    /// a release file, after its check: the server's handler must stop after 2 writes until credit
    /// comes, then finish the stream. (A fixed hold raced the check on a loaded machine.)
    @Test func serverWaitsForStreamCredit() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let release = FileManager.default.temporaryDirectory
            .appendingPathComponent("pixrpc-release-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: release) }
        async let run = CClient.run(
            self.connection(server) + ["--window", "2", "--hold-until", release, "expand", "held", "6"]
        )
        // 60 s: at the start of the suite, with every other suite starting too, the C client
        // took over 10 s to connect and write its first frame.
        let started = try await server.wait(timeout: .seconds(60)) { $0.streamed >= 2 }
        #expect(started.streamed == 2)
        try await Task.sleep(for: .milliseconds(500))
        let held = server.observed.withLockedValue { $0.streamed }
        #expect(held == 2, "the handler wrote beyond the window while the client held its credit")
        #expect(FileManager.default.createFile(atPath: release, contents: Data()))
        let output = try await run
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout == (0..<6).map { "message \($0): held\n" }.joined() + "status: OK (0)\n", "\(output)")
        let observed = try await server.wait(timeout: .seconds(60)) { $0.streamsEnded == 1 }
        #expect(observed.streamed == 6)
        await server.stop()
    }

    @Test func streamDeadlineEndsTheStreamWithDeadlineExceeded() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        // 50 messages 400 ms apart, but a 1.5 s deadline: a few messages, then DEADLINE_EXCEEDED.
        // (A 350 ms deadline with 100 ms apart left no message at all on a loaded machine, where
        // the handshake and first frame took longer than the deadline.)
        let output = try await CClient.run(
            self.connection(server) + ["--deadline-ms", "1500", "--interval-micros", "400000", "--window", "4", "expand", "tick", "50"]
        )
        #expect(output.status == 0, "\(output)")
        var lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.suffix(3) == ["status: DEADLINE_EXCEEDED (4)", "message: deadline exceeded", ""], "\(output)")
        lines.removeLast(min(3, lines.count))
        #expect((1...4).contains(lines.count), "\(output)")
        #expect(lines == (0..<lines.count).map { "message \($0): tick" }, "\(output)")
        let observed = try await server.wait(timeout: .seconds(60)) { $0.streamsEnded == 1 && $0.cancelled == 1 }
        #expect(observed.cancelled == 1, "the deadline stops the stream's handler")
        #expect(observed.streamed == lines.count)
        await server.stop()
    }

    @Test func failureStatusCarriesCodeMessageAndFieldViolation() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let invalid = try await CClient.run(self.connection(server) + ["fail", "3", "was wrong", "refresh_token"])
        #expect(invalid.status == 0, "\(invalid)")
        #expect(
            invalid.stdout == """
                status: INVALID_ARGUMENT (3)
                message: was wrong
                violation: refresh_token: was wrong

                """,
            "\(invalid)"
        )
        let notFound = try await CClient.run(self.connection(server) + ["fail", "5", "no such order"])
        #expect(notFound.status == 0, "\(notFound)")
        #expect(notFound.stdout == "status: NOT_FOUND (5)\nmessage: no such order\n", "\(notFound)")
        #expect(server.calls == 2)
        await server.stop()
    }

    @Test func deadlineEndsTheCallWithDeadlineExceededAndCancelsTheHandler() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        // Sleep 30 s with a 50 ms deadline; the client waits up to 2 s past the deadline for the
        // server's answer before it would end the call itself.
        let output = try await CClient.run(self.connection(server) + ["--grace-ms", "2000", "sleep", "30000000", "50"])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout == "status: DEADLINE_EXCEEDED (4)\nmessage: deadline exceeded\n", "\(output)")
        // From sending the request to reading the status, as measured by the client.
        let elapsed = output.stderr.split(separator: "\n")
            .first { $0.hasPrefix("elapsed-us: ") }
            .flatMap { Int($0.dropFirst("elapsed-us: ".count)) }
        // Under 2 s: the server ended the call, before the client's own grace (2 s) ran out.
        #expect(elapsed.map { $0 >= 50_000 && $0 < 2_000_000 } == true, "the deadline should end the call promptly: \(output)")
        let observed = try await server.wait(timeout: .seconds(60)) { $0.cancelled == 1 }
        #expect(observed.cancelled == 1, "the server's Sleep handler should see the deadline as cancellation")
        if let remaining = observed.lastRemaining {
            #expect(remaining > .zero && remaining <= .milliseconds(50), "timeout_micros is in microseconds: \(remaining)")
        } else {
            Issue.record("the handler saw no deadline")
        }
        await server.stop()
    }

    @Test func cancelStopsTheHandlerAndTheConnectionServesOn() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        let output = try await CClient.run(self.connection(server) + ["cancel", "30000000", "200"])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout == "cancelled: call 1\npayload: after-cancel\nstatus: OK (0)\n", "\(output)")
        let observed = try await server.wait(timeout: .seconds(60)) { $0.cancelled == 1 }
        #expect(observed.cancelled == 1)
        #expect(observed.calls == 2)
        await server.stop()
    }

    /// The server drains while a call is in flight (a 3 s call, so that the drain starts inside
    /// it even on a loaded machine): the C client lets the call finish, and acknowledges the
    /// GoAway with its own.
    @Test func goAwayLetsTheOpenCallFinishAndIsAcknowledged() async throws {
        _ = try await CClient.binary()
        let server = try await EchoServer(certificates: self.certificates)
        async let run = CClient.run(self.connection(server) + ["-v", "--deadline-ms", "20000", "sleep", "3000000", "10000"])
        let started = try await server.wait(timeout: .seconds(60)) { $0.calls == 1 }
        #expect(started.calls == 1)
        server.beginShutdown()
        let output = try await run
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout == "payload: \nstatus: OK (0)\n", "\(output)")
        #expect(output.stderr.contains("server sent GoAway: last call id 1"), "\(output)")
        #expect(output.stderr.contains("sending GoAway (acknowledged)"), "the client acknowledges: \(output)")
        #expect(server.observed.withLockedValue { $0.cancelled } == 0)
        await server.stop()
    }

    /// A server that pings after 100 ms of silence and gives up 1 s later: the client answers
    /// each Ping with a Pong, so a 2.5 s call survives. (The 1 s leaves room for a client process
    /// starved by a loaded machine; without Pongs the connection still dies 1.1 s in.)
    @Test func pingsAreAnsweredWithPongs() async throws {
        let server = try await EchoServer(certificates: self.certificates) { configuration in
            configuration.keepaliveInterval = .milliseconds(100)
            configuration.keepaliveTimeout = .milliseconds(1000)
        }
        let output = try await CClient.run(self.connection(server) + ["-v", "sleep", "2500000", "10000"])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout == "payload: \nstatus: OK (0)\n", "\(output)")
        #expect(output.stderr.contains("<- call 0 ping"), "\(output)")
        #expect(output.stderr.contains("-> call 0 pong"), "\(output)")
        await server.stop()
    }

    @Test func tlsIdentitiesAreChecked() async throws {
        let server = try await EchoServer(certificates: self.certificates)
        // The server proves `stats`, not `auth`: the C client refuses it.
        let wrongService = try await CClient.run(self.connection(server, service: "auth") + ["echo", "hi"])
        #expect(wrongService.status == 1, "\(wrongService)")
        #expect(wrongService.stdout.isEmpty)
        #expect(wrongService.stderr.contains("auth.pixecom.internal"), "\(wrongService)")
        // A client certificate from another CA: the server refuses the client.
        let foreign = try await self.foreignCertificates()
        let stranger = try await CClient.run(self.connection(server, certificates: foreign) + ["echo", "hi"])
        #expect(stranger.status == 1, "\(stranger)")
        #expect(stranger.stdout.isEmpty)
        // TLS 1.3: the refusal arrives as an alert after the client's side of the handshake.
        #expect(stranger.stderr.contains("alert \"unknown CA\""), "\(stranger)")
        #expect(server.calls == 0)
        // Usage errors are told apart from protocol failures.
        let usage = try await CClient.run(self.connection(server) + ["expand", "x", "many"])
        #expect(usage.status == 2, "\(usage)")
        await server.stop()
    }

    /// A CA and certificates unrelated to the shared ones, made without blocking a thread.
    private func foreignCertificates() async throws -> TestCertificates {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-foreign-certs")
        let script = TestEnvironment.packageRoot.appendingPathComponent("scripts/make-certs.sh")
        let output = try await CClient.runProgram(script, [directory.path], timeout: .seconds(120))
        guard output.status == 0 else { throw TestSetupError("make-certs.sh failed: \(output)") }
        return TestCertificates(directory: directory)
    }
}
