import Foundation
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit
import Testing

@testable import AuthService

/// What happens to credentials over time: signing keys rotating on their schedule, password
/// hashes upgraded to the current parameters, refresh tokens reaching their idle and absolute
/// ends. Each against a running system, its database changed directly where waiting for real
/// time (days) is not an option.
@Suite("Auth over time", .serialized)
struct AuthLifecycleTests {
    typealias Clients = AccessControlTests.Clients

    static func publishedKeys(_ clients: Clients) async throws -> Set<String> {
        let set = try await clients.auth.unary(
            AuthMethods.getPublicKeys, Pixecom_Auth_V1_GetPublicKeysRequest(), as: Pixecom_Auth_V1_PublicKeySet.self)
        return Set(set.keys.map(\.kid))
    }

    /// What CampaignService answers `token` (which it verifies with its own copy of the key set).
    static func listAdAccounts(_ clients: Clients, token: String) async -> RPCError.Code {
        await AccessControlTests.code(clients, CampaignMethods.listAdAccounts, token: token)
    }

    /// The `iat` claim of a token, read without verifying it.
    static func issuedAt(_ token: String) throws -> Double {
        let payload = try #require(token.split(separator: ".").dropFirst().first.flatMap { JWT.decodeBase64URL($0) })
        let claims = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        return try #require((claims["iat"] as? NSNumber)?.doubleValue)
    }

    struct KeyRow: Sendable {
        let kid: String
        let createdAt: Date
        let activatesAt: Date
        let retiredAt: Date?
    }

    static func keyRows(_ system: PixEcomSystem) async throws -> [String: KeyRow] {
        let url = try #require(system.databases["auth"]?.admin)
        return try await TestDatabases.withClient(url) { client in
            var rows: [String: KeyRow] = [:]
            let result = try await client.query("SELECT kid, created_at, activates_at, retired_at FROM signing_keys")
            for try await (kid, created, activates, retired) in result.decode((String, Date, Date, Date?).self) {
                rows[kid] = KeyRow(kid: kid, createdAt: created, activatesAt: activates, retiredAt: retired)
            }
            return rows
        }
    }

    @Test(
        "signing keys rotate on schedule: the next key is published before it signs, tokens under the previous key keep working everywhere, a withdrawn key is replaced and stops verifying"
    )
    func signingKeyRotation() async throws {
        // A key signs for 12 s; the set is reread every 2 s, so the next key is made and published
        // 4 s ahead of its turn. Services refetch keys older than 2 s when they verify a token
        // they have not seen.
        let system = try await PixEcomSystem.start(
            environment: ["PIXECOM_TOKEN_KEYS_MAX_AGE_SECONDS": "2"],
            authEnvironment: ["PIXECOM_AUTH_SIGNING_KEY_ROTATION_SECONDS": "12", "PIXECOM_AUTH_SIGNING_KEY_RELOAD_SECONDS": "2"])
        let clients = try Clients(system: system)
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let (first, email, password) = try await AccessControlTests.registerOwner(clients, name: "Rotation")
            let oldKid = try JWT.keyID(of: first.accessToken)
            #expect(await Self.listAdAccounts(clients, token: first.accessToken) == .ok)

            // Log in until two tokens in a row carry the same new key.
            var newTokens: [String] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let one = try await AccessControlTests.login(clients, email, password).accessToken
                let two = try await AccessControlTests.login(clients, email, password).accessToken
                let kid = try JWT.keyID(of: one)
                if kid != oldKid, try JWT.keyID(of: two) == kid {
                    newTokens = [one, two]
                    break
                }
                try await Task.sleep(for: .milliseconds(300))
            }
            try #require(newTokens.count == 2, "no tokens under a new key within 60 s")
            let newKid = try JWT.keyID(of: newTokens[0])

            // Every key was made (and so published) ahead of its turn, signed nothing before it,
            // and the key before it retired exactly when it took over.
            // Signing switches by the clock; the previous key's end is written by the reload
            // after the switch (every 2 s here), so wait for that reload.
            var rows = try await Self.keyRows(system)
            let retirementDeadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < retirementDeadline,
                let activates = rows[newKid]?.activatesAt,
                rows.values.contains(where: { $0.activatesAt < activates && $0.retiredAt == nil })
            {
                try await Task.sleep(for: .milliseconds(200))
                rows = try await Self.keyRows(system)
            }
            let new = try #require(rows[newKid])
            #expect(new.activatesAt.timeIntervalSince(new.createdAt) >= 3.9, "the next key is made ahead of its turn: \(new)")
            let iat = try Self.issuedAt(newTokens[0])
            #expect(iat >= new.activatesAt.timeIntervalSince1970.rounded(.down), "signed before its turn")
            let previous = try #require(rows.values.filter { $0.activatesAt < new.activatesAt }.max { $0.activatesAt < $1.activatesAt })
            #expect(previous.retiredAt == new.activatesAt, "the previous key retires when the new one takes over: \(previous)")

            // The first key's token still works at AuthService, through the edge and at
            // CampaignService; so does the new key's, which CampaignService has not seen yet.
            #expect(try await Self.publishedKeys(clients).isSuperset(of: [oldKid, newKid]))
            #expect(try await edge.send(.GET, "/v1/account", token: first.accessToken).status == 200)
            #expect(await Self.listAdAccounts(clients, token: first.accessToken) == .ok)
            #expect(await Self.listAdAccounts(clients, token: newTokens[0]) == .ok)
            #expect(try await edge.send(.GET, "/v1/ad-accounts", token: newTokens[0]).status == 200)
            let lastVerified = ContinuousClock.now

            // An operator withdraws the new key (believed exposed): AuthService stops publishing
            // it at its next reload and never signs with it again.
            let url = try #require(system.databases["auth"]?.admin)
            _ = try await TestDatabases.withClient(url) { client in
                try await client.query("UPDATE signing_keys SET withdrawn_at = now() WHERE kid = \(newKid)")
            }
            var withdrawn = false
            while !withdrawn, ContinuousClock.now < deadline + .seconds(20) {
                withdrawn = try await !Self.publishedKeys(clients).contains(newKid)
                if !withdrawn { try await Task.sleep(for: .milliseconds(200)) }
            }
            try #require(withdrawn, "the withdrawn key is still published")
            // Known flake, cause not found yet (2 of 5 full runs on 2026-12-06, under load): right
            // after the withdrawn key stops being published, a login was once answered UNAVAILABLE
            // "no signing key loaded yet". Retried for up to 10 s, and each retry is printed, so
            // the window stays visible while it is investigated.
            var after = ""
            let loginDeadline = ContinuousClock.now + .seconds(10)
            while after.isEmpty {
                do {
                    after = try await AccessControlTests.login(clients, email, password).accessToken
                } catch let error as RPCError where error.code == .unavailable && ContinuousClock.now < loginDeadline {
                    print("AuthLifecycleTests: login after the withdrawal answered \(error); retrying")
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(try JWT.keyID(of: after) != newKid)
            // CampaignService fetches the set at most every 5 s. Once it may again, the token
            // under the key that replaced the withdrawn one verifies, and a token under the
            // withdrawn key that it never saw is refused; the first key's tokens still verify.
            try await Task.sleep(until: lastVerified + .seconds(6))
            #expect(await Self.listAdAccounts(clients, token: after) == .ok)
            #expect(await Self.listAdAccounts(clients, token: newTokens[1]) == .unauthenticated)
            #expect(await Self.listAdAccounts(clients, token: first.accessToken) == .ok, "the first key's tokens still verify")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await clients.close()
        await system.stop()
    }

    @Test("a password hashed under older parameters is rehashed under the current ones at the next successful login, once")
    func passwordHashUpgrade() async throws {
        let system = try await PixEcomSystem.start()
        let clients = try Clients(system: system)
        do {
            let (pair, email, password) = try await AccessControlTests.registerOwner(clients, name: "Upgrade")
            let url = try #require(system.databases["auth"]?.admin)
            let userID = try #require(UUID(uuidString: pair.userID))
            @Sendable func storedHash() async throws -> String {
                try await TestDatabases.withClient(url) { client in
                    var hash = ""
                    for try await value in try await client.query("SELECT password_hash FROM users WHERE id = \(userID)").decode(
                        String.self)
                    {
                        hash = value
                    }
                    return hash
                }
            }
            let current = try await storedHash()
            #expect(current.hasPrefix("$scrypt$ln=12,r=8,p=1$"), "the system's parameters: \(current)")

            // The user's hash as an older setting (N = 2^10) made it.
            let older = PasswordHash.Parameters(logN: 10, r: 8, p: 1)
            let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
            let legacy = PasswordHash(
                parameters: older, salt: salt, hash: try PasswordHasher.scrypt(password, salt: salt, parameters: older)
            ).encoded
            _ = try await TestDatabases.withClient(url) { client in
                try await client.query("UPDATE users SET password_hash = \(legacy) WHERE id = \(userID)")
            }

            // A wrong password changes nothing.
            await #expect(throws: RPCError.self) { _ = try await AccessControlTests.login(clients, email, "wrong-password-123") }
            #expect(try await storedHash() == legacy)
            // The right one logs in and leaves a hash under the current parameters.
            _ = try await AccessControlTests.login(clients, email, password)
            let upgraded = try await storedHash()
            #expect(upgraded.hasPrefix("$scrypt$ln=12,r=8,p=1$") && upgraded != legacy && upgraded != current, "\(upgraded)")
            // The new hash verifies, and is not redone at the login after.
            _ = try await AccessControlTests.login(clients, email, password)
            #expect(try await storedHash() == upgraded)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await clients.close()
        await system.stop()
    }

    @Test(
        "refresh tokens end after their idle lifetime and their family's absolute lifetime; rotation keeps the family's end and never outlives it"
    )
    func refreshLifetimes() async throws {
        let system = try await PixEcomSystem.start(authEnvironment: [
            "PIXECOM_AUTH_REFRESH_IDLE_HOURS": "2", "PIXECOM_AUTH_REFRESH_ABSOLUTE_HOURS": "5",
        ])
        let clients = try Clients(system: system)
        do {
            let url = try #require(system.databases["auth"]?.admin)
            @Sendable func refresh(_ token: String) async throws -> Pixecom_Auth_V1_TokenPair {
                var request = Pixecom_Auth_V1_RefreshRequest()
                request.refreshToken = token
                return try await clients.auth.unary(AuthMethods.refresh, request, as: Pixecom_Auth_V1_TokenPair.self)
            }
            @Sendable func execute(_ query: PostgresQuery) async throws {
                _ = try await TestDatabases.withClient(url) { client in try await client.query(query) }
            }
            @Sendable func familyEnds(_ userID: UUID) async throws -> Set<Date> {
                try await TestDatabases.withClient(url) { client in
                    var ends: Set<Date> = []
                    let rows = try await client.query("SELECT family_expires_at FROM refresh_tokens WHERE user_id = \(userID)")
                    for try await end in rows.decode(Date.self) { ends.insert(end) }
                    return ends
                }
            }

            let (pair, email, password) = try await AccessControlTests.registerOwner(clients, name: "Lifetimes")
            let userID = try #require(UUID(uuidString: pair.userID))
            #expect((7190...7200).contains(pair.refreshExpiresIn), "the idle lifetime: \(pair.refreshExpiresIn)")
            let rotated = try await refresh(pair.refreshToken)
            #expect((7190...7200).contains(rotated.refreshExpiresIn))
            let ends = try await familyEnds(userID)
            #expect(ends.count == 1, "rotation carries the family's end over: \(ends)")
            if let end = ends.first { #expect(abs(end.timeIntervalSinceNow - 5 * 3600) < 60) }

            // Near the family's end, a rotated token lives only until then, not a full idle lifetime.
            try await execute("UPDATE refresh_tokens SET family_expires_at = now() + interval '30 minutes' WHERE user_id = \(userID)")
            let capped = try await refresh(rotated.refreshToken)
            #expect((1790...1800).contains(capped.refreshExpiresIn), "capped at the family's end: \(capped.refreshExpiresIn)")

            // Past the family's end, a token that is still fresh (idle-wise) is refused.
            try await execute("UPDATE refresh_tokens SET family_expires_at = now() - interval '1 second' WHERE user_id = \(userID)")
            let pastFamily = await #expect(throws: RPCError.self) { _ = try await refresh(capped.refreshToken) }
            #expect(pastFamily?.code == .unauthenticated)

            // A new login is a new family; a token unused for its idle lifetime is refused.
            let again = try await AccessControlTests.login(clients, email, password)
            try await execute(
                "UPDATE refresh_tokens SET idle_expires_at = now() - interval '1 second' WHERE user_id = \(userID) AND used_at IS NULL AND revoked_at IS NULL AND family_expires_at > now()"
            )
            let idle = await #expect(throws: RPCError.self) { _ = try await refresh(again.refreshToken) }
            #expect(idle?.code == .unauthenticated)
            // Logging in starts afresh.
            let last = try await AccessControlTests.login(clients, email, password)
            _ = try await refresh(last.refreshToken)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await clients.close()
        await system.stop()
    }
}
