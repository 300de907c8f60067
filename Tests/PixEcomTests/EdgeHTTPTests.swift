import Foundation
import Testing

/// The edge's HTTP/1.1 server on the wire: pipelining, malformed requests, connection handling,
/// body limits, HEAD, the idle timeout, and CORS; over real TLS to a running system.
@Suite("Edge HTTP/1.1", .serialized)
struct EdgeHTTPTests {
    static let origin = "https://app.example.com"

    /// A system for one test: CORS allows `origin`; bodies over 4 KiB are refused; idle
    /// connections close after `idleSeconds` (the default 60 s but in the idle-timeout test, so a
    /// loaded machine does not close a test's connection between its steps).
    static func system(idleSeconds: Int = 60) async throws -> PixEcomSystem {
        try await PixEcomSystem.start(edgeEnvironment: [
            "PIXECOM_CORS_ORIGINS": Self.origin, "PIXECOM_HTTP_IDLE_TIMEOUT_S": "\(idleSeconds)",
            "PIXECOM_HTTP_MAX_BODY_BYTES": "4096",
        ])
    }

    static func connect(_ system: PixEcomSystem) async throws -> RawTLSConnection {
        try await RawTLSConnection.connect(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
    }

    /// The responses in `text`, each as (status line, lower-cased header lines, body).
    static func responses(_ text: String) -> [(status: String, headers: [String], body: String)] {
        var result: [(String, [String], String)] = []
        var rest = Substring(text)
        while let start = rest.range(of: "HTTP/1.1 ") {
            rest = rest[start.lowerBound...]
            guard let end = rest.range(of: "\r\n\r\n") else { break }
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            let headers = lines.dropFirst().map { $0.lowercased() }
            let length = headers.first { $0.hasPrefix("content-length: ") }.flatMap { Int($0.dropFirst(16)) } ?? 0
            let body = rest[end.upperBound...].prefix(length)
            result.append((lines[0], Array(headers), String(body)))
            rest = rest[end.upperBound...].dropFirst(length)
        }
        return result
    }

    @Test("pipelined requests are answered in order; a malformed one behind them gets 400 and the connection closes")
    func pipeliningAndParseErrors() async throws {
        let system = try await Self.system()
        do {
            let connection = try await Self.connect(system)
            try await connection.send(
                "GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /v1/no-such-route HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "NOT HTTP AT ALL\r\n\r\n")
            let text = try await connection.waitForResponses(4)
            let answers = Self.responses(text)
            try #require(answers.count == 4, "\(text.prefix(3000))")
            #expect(answers[0].status.hasPrefix("HTTP/1.1 401"))
            #expect(answers[1].status.hasPrefix("HTTP/1.1 404") && answers[1].body.contains("\"NOT_FOUND\""))
            #expect(answers[2].status.hasPrefix("HTTP/1.1 200") && answers[2].body.contains("\"openapi\""))
            #expect(answers[3].status.hasPrefix("HTTP/1.1 400") && answers[3].headers.contains("connection: close"))
            for answer in answers.prefix(3) {
                #expect(answer.headers.contains { $0.hasPrefix("date: ") }, "every answer is dated: \(answer.headers)")
                #expect(answer.headers.contains("x-content-type-options: nosniff"))
                #expect(answer.headers.filter { $0.hasPrefix("content-length: ") }.count == 1, "one content-length: \(answer.headers)")
            }
            #expect(await connection.closedByServer(within: .seconds(5)))

            // Bytes arriving after the malformed request (the decoder refuses them) do not cut
            // the answers short.
            let trailing = try await Self.connect(system)
            try await trailing.send("GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
            try? await trailing.send("GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let cut = Self.responses(try await trailing.waitForResponses(2))
            try #require(cut.count == 2)
            #expect(cut[0].status.hasPrefix("HTTP/1.1 401") && cut[1].status.hasPrefix("HTTP/1.1 400"))
            #expect(cut[1].body.contains("\"INVALID_ARGUMENT\""), "the 400 has the JSON error body: \(cut[1])")
            #expect(await trailing.closedByServer(within: .seconds(5)))

            // A client that ends its side cleanly (TLS close_notify right behind its pipelined
            // requests) still gets every answer, then the server closes too: it does not wait
            // for the client's TLS shutdown timeout.
            let polite = try await Self.connect(system)
            try await polite.send(
                "GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\nGET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try await polite.closeOutput()
            let both = Self.responses(try await polite.waitForResponses(2))
            #expect(both.count == 2 && both.last?.status.hasPrefix("HTTP/1.1 200") == true, "\(both.map(\.status))")
            #expect(await polite.closedByServer(within: .seconds(4)), "closed by the server, before the client's 5 s TLS shutdown timeout")

            // A long run of pipelined requests, each answered without waiting for a service, is
            // answered in order on the open connection.
            let many = try await Self.connect(system)
            let count = 25
            try await many.send(
                (0..<count).map { "GET /v1/missing-\($0) HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: r\($0)\r\n\r\n" }.joined())
            let run = Self.responses(try await many.waitForResponses(count))
            #expect(run.count == count)
            #expect(run.enumerated().allSatisfy { $1.headers.contains("x-request-id: r\($0)") }, "in order: \(run.map(\.headers))")
            #expect(!(await many.closedByServer(within: .zero)))
            await many.close()
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await system.stop()
    }

    @Test(
        "Connection: close and HTTP/1.0 end the connection after the answer; HEAD gets the length and no body; an oversized body gets 413 and JSON nested too deep 400, in the JSON error body"
    )
    func connectionHandling() async throws {
        let system = try await Self.system()
        do {
            let close = try await Self.connect(system)
            try await close.send("GET /v1/account HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let closed = Self.responses(try await close.waitForResponses(1))
            #expect(closed.first?.headers.contains("connection: close") == true, "\(closed)")
            #expect(await close.closedByServer(within: .seconds(5)))

            let old = try await Self.connect(system)
            try await old.send("GET /v1/account HTTP/1.0\r\nHost: localhost\r\n\r\n")
            #expect(Self.responses(try await old.waitForResponses(1)).first?.status.hasPrefix("HTTP/1.1 401") == true)
            #expect(await old.closedByServer(within: .seconds(5)))

            let head = try await Self.connect(system)
            try await head.send("HEAD /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\nGET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let text = try await head.waitForResponses(2)
            // The HEAD answer carries the length of the document but no bytes of it: the next
            // answer follows its blank line directly.
            let headEnd = try #require(text.range(of: "\r\n\r\n"))
            #expect(text[headEnd.upperBound...].hasPrefix("HTTP/1.1 401"), "\(text.prefix(2000))")
            #expect(text[..<headEnd.lowerBound].lowercased().contains("content-length: "))
            await head.close()

            let big = try await Self.connect(system)
            let body = String(repeating: "a", count: 10_000)
            try await big.send(
                "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    + "GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answers = Self.responses(try await big.waitForResponses(2))
            try #require(answers.count == 2)
            #expect(answers[0].status.hasPrefix("HTTP/1.1 413") && answers[0].body.contains("RESOURCE_EXHAUSTED"), "\(answers[0])")
            #expect(answers[1].status.hasPrefix("HTTP/1.1 401"), "the connection goes on after a 413")
            await big.close()

            // JSON nested thousands deep is refused as bad input, and the edge goes on serving.
            let deep = try await Self.connect(system)
            let nested = "{\"email\":" + String(repeating: "[", count: 3_000) + "}"
            try await deep.send(
                "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(nested.utf8.count)\r\n\r\n\(nested)"
                    + "GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let refused = Self.responses(try await deep.waitForResponses(2))
            try #require(refused.count == 2)
            #expect(refused[0].status.hasPrefix("HTTP/1.1 400") && refused[0].body.contains("INVALID_ARGUMENT"), "\(refused[0])")
            #expect(refused[1].status.hasPrefix("HTTP/1.1 401"))
            await deep.close()
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await system.stop()
    }

    @Test("an idle connection is closed after the idle timeout; one that keeps sending requests is not")
    func idleTimeout() async throws {
        let system = try await Self.system(idleSeconds: 5)
        do {
            let idle = try await Self.connect(system)
            let busy = try await Self.connect(system)
            for index in 1...8 {
                try await busy.send("GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n")
                _ = try await busy.waitForResponses(index)
                try await Task.sleep(for: .milliseconds(1_200))
            }
            #expect(await idle.closedByServer(within: .seconds(10)), "the idle connection outlived the 5 s timeout")
            #expect(!(await busy.closedByServer(within: .zero)), "the busy connection was closed")
            await busy.close()
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await system.stop()
    }

    @Test(
        "CORS: preflights from listed origins are allowed and others refused; answers, errors included, carry the headers for listed origins only"
    )
    func cors() async throws {
        let system = try await Self.system()
        do {
            func exchange(_ request: String) async throws -> (status: String, headers: [String], body: String) {
                let connection = try await Self.connect(system)
                try await connection.send(request)
                let answer = Self.responses(try await connection.waitForResponses(1)).first
                await connection.close()
                return try #require(answer)
            }
            let allowed = try await exchange(
                "OPTIONS /v1/campaigns HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\nAccess-Control-Request-Method: POST\r\n\r\n"
            )
            #expect(allowed.status.hasPrefix("HTTP/1.1 204"))
            #expect(allowed.headers.contains("access-control-allow-origin: \(Self.origin)"))
            #expect(allowed.headers.contains("access-control-allow-credentials: true"))
            #expect(allowed.headers.contains { $0.hasPrefix("access-control-allow-headers: ") && $0.contains("authorization") })
            #expect(!allowed.headers.contains { $0.hasPrefix("content-length") }, "no length on a 204")

            #expect(allowed.headers.contains("vary: origin"))
            let refused = try await exchange(
                "OPTIONS /v1/campaigns HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example.net\r\nAccess-Control-Request-Method: POST\r\n\r\n"
            )
            #expect(refused.status.hasPrefix("HTTP/1.1 403"))
            #expect(!refused.headers.contains { $0.hasPrefix("access-control-") }, "\(refused.headers)")
            #expect(refused.headers.contains("vary: origin"))
            #expect(
                refused.body.contains("\"PERMISSION_DENIED\"") && refused.body.contains("evil.example.net"),
                "the refusal names the origin: \(refused.body)")

            // The cookie routes: the preflight allows the CSRF header and credentials, and the
            // answer (here a 401: no cookie) is readable by the page, with credentials.
            let csrf = try await exchange(
                "OPTIONS /v1/auth/refresh HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\nAccess-Control-Request-Method: POST\r\n"
                    + "Access-Control-Request-Headers: x-pixecom-csrf, content-type\r\n\r\n")
            #expect(csrf.status.hasPrefix("HTTP/1.1 204"))
            #expect(
                csrf.headers.contains {
                    $0.hasPrefix("access-control-allow-headers: ") && $0.contains("x-pixecom-csrf") && $0.contains("content-type")
                })
            #expect(csrf.headers.contains("access-control-allow-credentials: true"))
            #expect(csrf.headers.contains { $0.hasPrefix("access-control-allow-methods: ") && $0.contains("post") })
            let refresh = try await exchange(
                "POST /v1/auth/refresh HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\nX-PixEcom-CSRF: 1\r\nContent-Length: 0\r\n\r\n"
            )
            #expect(refresh.status.hasPrefix("HTTP/1.1 401"), "\(refresh)")
            #expect(refresh.headers.contains("access-control-allow-origin: \(Self.origin)"))
            #expect(refresh.headers.contains("access-control-allow-credentials: true"))
            #expect(refresh.headers.contains("vary: origin"))

            // An error answer to a listed origin is readable by the page; to another it is not.
            let error = try await exchange("GET /v1/account HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\n\r\n")
            #expect(error.status.hasPrefix("HTTP/1.1 401"))
            #expect(error.headers.contains("access-control-allow-origin: \(Self.origin)"))
            #expect(error.headers.contains { $0.hasPrefix("access-control-expose-headers: ") && $0.contains("x-request-id") })
            #expect(error.headers.contains("vary: origin"))
            let foreign = try await exchange("GET /v1/account HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example.net\r\n\r\n")
            #expect(!foreign.headers.contains { $0.hasPrefix("access-control-allow-origin") })
            #expect(foreign.headers.contains("vary: origin"))
            let noOrigin = try await exchange("GET /v1/account HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(noOrigin.headers.contains("vary: origin"), "an answer without CORS headers varies on Origin too")
            #expect(!noOrigin.headers.contains { $0.hasPrefix("access-control-") })
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await system.stop()
    }

    @Test(
        "CORS with no origins configured: a preflight is refused 403 in the JSON error body (not 405), answers carry Vary: Origin and no CORS headers"
    )
    func corsWithoutOrigins() async throws {
        let system = try await PixEcomSystem.start()
        do {
            let connection = try await Self.connect(system)
            try await connection.send(
                "OPTIONS /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\nAccess-Control-Request-Method: POST\r\n\r\n"
                    + "GET /v1/account HTTP/1.1\r\nHost: localhost\r\nOrigin: \(Self.origin)\r\n\r\n")
            let answers = Self.responses(try await connection.waitForResponses(2))
            try #require(answers.count == 2)
            #expect(answers[0].status.hasPrefix("HTTP/1.1 403"), "\(answers[0])")
            #expect(answers[0].body.contains("\"PERMISSION_DENIED\"") && answers[0].body.contains("app.example.com"), "\(answers[0].body)")
            #expect(answers[1].status.hasPrefix("HTTP/1.1 401"))
            for answer in answers {
                #expect(answer.headers.contains("vary: origin"), "\(answer.headers)")
                #expect(!answer.headers.contains { $0.hasPrefix("access-control-") }, "\(answer.headers)")
            }
            await connection.close()
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await system.stop()
    }
}
