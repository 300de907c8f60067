import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit
import Testing

/// Development gets a demo seller with a random password; production refuses a seed and a
/// placeholder secret, naming the variable, before it serves anything.
@Suite("Production mode and the demo seed", .serialized)
struct ProductionModeTests {
    static func authEnvironment(mode: String, hashKey: String, seedFile: String?, extra: [String: String] = [:]) async throws -> [String:
        String]
    {
        let certificates = try TestCertificates.shared.get()
        let databases = try await TestDatabases.create(services: ["auth"])
        var environment = [
            "PIXECOM_MODE": mode,
            "PIXECOM_RPC_HOST": "127.0.0.1", "PIXECOM_RPC_PORT": "0", "PIXECOM_ADMIN_PORT": "0",
            "PIXECOM_TLS_CA": certificates.path("ca.pem"),
            "PIXECOM_TLS_CERT": certificates.path("auth.pem"),
            "PIXECOM_TLS_KEY": certificates.path("auth.key"),
            "PIXECOM_DATABASE_URL": try #require(databases["auth"]?.app),
            "PIXECOM_DATABASE_OWNER_URL": try #require(databases["auth"]?.owner),
            "PIXECOM_AUTH_TOKEN_HASH_KEY": hashKey,
        ]
        environment["PIXECOM_AUTH_DEMO_SEED_FILE"] = seedFile
        environment.merge(extra) { _, new in new }
        return environment
    }

    static let randomKey = "k9Qz7LmX2vB8nR4tY6wE1uI3oP5aS0dF-GhJ"

    @Test(
        "production refuses a demo seed and placeholder secrets, exiting with status 2 and naming the variable",
        arguments: [
            ("PIXECOM_AUTH_DEMO_SEED_FILE", randomKey, true),
            ("PIXECOM_AUTH_TOKEN_HASH_KEY", "change-me-change-me-change-me-change-me", false),
            ("PIXECOM_AUTH_TOKEN_HASH_KEY", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("PIXECOM_AUTH_SCRYPT_LOG_N", randomKey, false),
        ]
    )
    func productionRefuses(variable: String, hashKey: String, withSeed: Bool) async throws {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-production")
        let seed = withSeed ? directory.appendingPathComponent("demo.env").path : nil
        let extra = variable == "PIXECOM_AUTH_SCRYPT_LOG_N" ? ["PIXECOM_AUTH_SCRYPT_LOG_N": "12"] : [:]
        let environment = try await Self.authEnvironment(mode: "production", hashKey: hashKey, seedFile: seed, extra: extra)
        let auth = ServiceProcess(name: "auth", executable: "AuthService", environment: environment, directory: directory)
        let failure = await #expect(throws: TestSetupError.self) { try await auth.start(timeout: .seconds(60)) }
        #expect(failure?.description.contains("exited with status 2") == true, "\(failure?.description ?? "")")
        #expect(auth.logTail().contains(variable), "the log names \(variable): \(auth.logTail())")
        if let seed { #expect(!FileManager.default.fileExists(atPath: seed)) }
    }

    @Test("development seeds one demo seller with a random password, readable only by the operator, once")
    func developmentSeed() async throws {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-seed")
        let seed = directory.appendingPathComponent("demo.env").path
        // Cheap scrypt at normal priority, as in every test system (see PixEcomSystem).
        let environment = try await Self.authEnvironment(
            mode: "development", hashKey: Self.randomKey, seedFile: seed,
            extra: ["PIXECOM_AUTH_SCRYPT_LOG_N": "12", "PIXECOM_AUTH_HASH_IDLE_PRIORITY": "0"])
        let auth = ServiceProcess(name: "auth", executable: "AuthService", environment: environment, directory: directory)
        try await auth.start()
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: seed)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let contents = try String(contentsOfFile: seed, encoding: .utf8)
            let values = Dictionary(
                uniqueKeysWithValues: contents.split(separator: "\n").compactMap { line -> (String, String)? in
                    let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                    return parts.count == 2 ? (parts[0], parts[1]) : nil
                })
            let email = try #require(values["EMAIL"])
            let password = try #require(values["PASSWORD"])
            #expect(password.count == 24)
            #expect(!auth.logTail(lines: 200).contains(password), "the password is never logged")

            let certificates = try TestCertificates.shared.get()
            let client = RPCClient(
                configuration: RPCClientConfiguration(endpoints: [Endpoint(host: "127.0.0.1", port: auth.rpcPort)], serverService: "auth"),
                tls: try RPCTLS.clientContext(certificates.files(for: "edge")))
            var login = Pixecom_Auth_V1_LoginRequest()
            login.email = email
            login.password = password
            let pair = try await client.unary(AuthMethods.login, login, as: Pixecom_Auth_V1_TokenPair.self)
            #expect(pair.sellerID == values["SELLER_ID"])
            await client.close()

            // A restart keeps the seeded seller and makes no second one.
            #expect(await auth.terminate() == 0)
            try await auth.start()
            #expect(try String(contentsOfFile: seed, encoding: .utf8) == contents)
        } catch {
            Issue.record("\(error)\n\(auth.logTail())")
        }
        await auth.terminate()
    }
}
