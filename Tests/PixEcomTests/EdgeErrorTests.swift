import Foundation
import HTTPTypes
import RPCKit
import Testing

@testable import Edge

/// How failures reach a browser: every RPC status under its HTTP status, in the one JSON error
/// body with the request id.
@Suite("Edge error answers", .serialized)
struct EdgeErrorTests {
    @Test("every RPC status maps to its HTTP status; a retry delay becomes Retry-After")
    func statusMapping() {
        let expected: [(RPCError.Code, Int)] = [
            (.invalidArgument, 400), (.outOfRange, 400), (.unauthenticated, 401), (.permissionDenied, 403), (.notFound, 404),
            (.alreadyExists, 409), (.aborted, 409), (.failedPrecondition, 422), (.resourceExhausted, 429), (.cancelled, 499),
            (.unimplemented, 501), (.unavailable, 503), (.deadlineExceeded, 504), (.internal, 500), (.unknown, 500), (.dataLoss, 500),
        ]
        for (code, status) in expected {
            let response = ErrorResponse.make(RPCError(code, "what went wrong"), requestID: "req-1")
            #expect(response.status.code == status, "\(code)")
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[.retryAfter] == nil)
        }
        // Milliseconds round up to whole seconds, at least one.
        for (millis, seconds) in [(1, "1"), (1000, "1"), (1001, "2"), (30_000, "30")] as [(UInt64, String)] {
            var error = RPCError(.resourceExhausted, "slow down")
            error.retryDelayMillis = millis
            #expect(ErrorResponse.make(error, requestID: "req-2").headers[.retryAfter] == seconds)
        }
    }

    @Test(
        "through the edge: a duplicate registration gets 409, a service that is down 503, each in the JSON error body with its request id")
    func conflictAndUnavailable() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Errors")
            let again = try await edge.send(
                .POST, "/v1/auth/register", json: ["sellerName": "Again", "email": seller.email, "password": "pw-\(UUID().uuidString)"])
            #expect(again.status == 409 && again.errorCode == "ALREADY_EXISTS", "\(again.text)")
            let error = try #require(again.json["error"] as? [String: Any])
            #expect(!(error["requestId"] as? String ?? "").isEmpty && !(error["message"] as? String ?? "").isEmpty)
            #expect(again.headers["X-Request-Id"].first == error["requestId"] as? String)

            // CampaignService goes away: its routes answer 503, the others keep working.
            await system.campaign.kill()
            let down = try await edge.send(.GET, "/v1/campaigns/\(UUID().uuidString.lowercased())", token: seller.token)
            #expect(down.status == 503 && down.errorCode == "UNAVAILABLE", "\(down.text)")
            #expect(try await edge.send(.GET, "/v1/account", token: seller.token).status == 200)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }

    @Test(
        "through the edge: a dozen wrong passwords for a made-up e-mail lock that account and nothing else; another client still registers, logs in and reads its members (no open circuit, no 503)"
    )
    func loginLockoutsLeaveAuthInRotation() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let madeUp = "nobody-\(UUID().uuidString.prefix(8).lowercased())@example.com"
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(
                    try await edge.send(.POST, "/v1/auth/login", json: ["email": madeUp, "password": "wrong-password-123"]).status)
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 401 }, "\(statuses)")
            #expect(statuses.dropFirst(5).allSatisfy { $0 == 429 }, "locked out, never 503: \(statuses)")
            let other = try await EndToEndTests.register(edge, name: "Bystander")
            let members = try await edge.send(.GET, "/v1/members", token: other.token)
            #expect(members.status == 200, "\(members.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }

    @Test(
        "through the edge: a body the JSON mapping refuses names the field and the reason: a number out of range, a wrong type, an unknown enum name, a nested field, an unknown field"
    )
    func jsonDecodingErrorsNameTheField() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "JSONErrors")
            let account = try await EndToEndTests.create(
                edge, "/v1/ad-accounts", ["name": "Main", "currency": "USD", "timeZone": "UTC"], token: seller.token)
            func post(_ path: String, _ body: String) async throws -> (field: String, description: String, message: String, status: Int) {
                let reply = try await edge.sendRaw(
                    .POST, path, body: Data(body.utf8),
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(seller.token)")])
                let error = reply.json["error"] as? [String: Any] ?? [:]
                let detail = (error["details"] as? [[String: Any]])?.first ?? [:]
                #expect(reply.errorCode == "INVALID_ARGUMENT", "\(reply.text)")
                return (
                    detail["field"] as? String ?? "", detail["description"] as? String ?? "", error["message"] as? String ?? "",
                    reply.status
                )
            }
            let campaign = #"{"adAccountId": "\#(account)", "name": "C", "objective": "OUTCOME_SALES", "#
            let huge = try await post("/v1/campaigns", campaign + #""dailyBudget": 1e400}"#)
            #expect(huge.status == 400 && huge.field == "dailyBudget", "\(huge)")
            #expect(huge.description.contains("out of range") && !huge.message.contains("invalidUTF8"), "\(huge)")
            let big = try await post("/v1/campaigns", campaign + #""dailyBudget": "99999999999999999999"}"#)
            #expect(big.field == "dailyBudget" && big.description.contains("out of range"), "\(big)")
            let fraction = try await post("/v1/campaigns", campaign + #""dailyBudget": 12.5}"#)
            #expect(fraction.field == "dailyBudget" && fraction.description.contains("whole number"), "\(fraction)")
            let notNumber = try await post("/v1/campaigns", campaign + #""dailyBudget": "lots"}"#)
            #expect(notNumber.field == "dailyBudget" && notNumber.description.contains("not a number"), "\(notNumber)")
            let wrongType = try await post("/v1/campaigns", #"{"adAccountId": "\#(account)", "name": 5, "dailyBudget": "100"}"#)
            #expect(wrongType.field == "name" && wrongType.description.contains("must be a string"), "\(wrongType)")
            let enumName = try await post("/v1/campaigns", campaign + #""dailyBudget": "100", "status": "SLEEPING"}"#)
            #expect(enumName.field == "status" && enumName.description.contains("not one of its values"), "\(enumName)")
            let nested = try await post(
                "/v1/orders",
                #"{"currency": "USD", "lineItems": [{"sku": "a", "title": "A", "quantity": 1, "unitPrice": "100"}, {"sku": "b", "title": "B", "quantity": 1e10, "unitPrice": "100"}]}"#
            )
            #expect(nested.field == "lineItems[1].quantity" && nested.description.contains("out of range"), "\(nested)")
            let unknown = try await post("/v1/campaigns", campaign + #""dailyBudget": "100", "budget": 5}"#)
            #expect(unknown.field == "budget" && unknown.description.contains("not a field"), "\(unknown)")
            let broken = try await post("/v1/campaigns", #"{"name": "#)
            #expect(broken.field == "body", "\(broken)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }
}
