import Foundation
import Testing

/// schemathesis (PyPI) against `/openapi.json` of a running system: generated and mutated
/// requests for every operation, statefully chained through the links it finds; no answer may be
/// a server error or break the documented schema, status codes, content type or headers.
///
/// `positive_data_acceptance` is left out: the schemas describe the JSON shapes, not every
/// business rule (a currency code, a budget above zero), so schema-valid requests may rightly get
/// 400 or 422. `scripts/test.sh` installs schemathesis and sets `PIXECOM_SCHEMATHESIS`.
@Suite("schemathesis against /openapi.json", .serialized)
struct SchemathesisTests {
    @Test("no 5xx and no answer outside the schema, for every operation, with a seller's token")
    func fuzzTheEdge() async throws {
        let executable = try #require(
            ProcessInfo.processInfo.environment["PIXECOM_SCHEMATHESIS"],
            "PIXECOM_SCHEMATHESIS is not set: run scripts/test.sh, which installs schemathesis, or point it at a schemathesis executable")
        // Rate limits high enough that the fuzzing reaches the services rather than the limiter.
        let system = try await PixEcomSystem.start(edgeEnvironment: [
            "PIXECOM_RATE_AUTH_PER_MINUTE": "1000000", "PIXECOM_RATE_AUTH_BURST": "1000000",
            "PIXECOM_RATE_SELLER_PER_MINUTE": "100000000", "PIXECOM_RATE_SELLER_BURST": "1000000",
        ])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Fuzz")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [
                "run", "https://localhost:\(system.edge.httpPort)/openapi.json",
                "--tls-verify", system.certificates.path("ca.pem"),
                "--header", "Authorization: Bearer \(seller.token)",
                "--header", "X-PixEcom-CSRF: 1",
                "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                "--max-examples", "25", "--seed", "20261124", "--generation-deterministic",
                "--request-timeout", "20", "--no-color",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["SCHEMATHESIS_TELEMETRY"] = "false"
            process.environment = environment
            // schemathesis keeps a cache of what it found in its working directory: not the checkout.
            let scratch = try TestEnvironment.temporaryDirectory("schemathesis")
            defer { try? FileManager.default.removeItem(at: scratch) }
            process.currentDirectoryURL = scratch
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(text.suffix(6000))")
            #expect(text.contains("Tested: 38") || text.contains("Tested:"), "\(text.suffix(2000))")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
