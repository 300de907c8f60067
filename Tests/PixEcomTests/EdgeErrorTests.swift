import Foundation
import HTTPTypes
import RPCKit
import Testing

@testable import Edge

/// How failures reach a browser: every RPC status under its HTTP status, in the one JSON error
/// body with the request id.
@Suite("Edge error answers")
struct EdgeErrorTests {
    @Test("every RPC status maps to its HTTP status; a retry delay becomes Retry-After")
    func statusMapping() {
        let expected: [(RPCCode, Int)] = [
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

    @Test("through the edge: a duplicate registration gets 409, a service that is down 503, each in the JSON error body with its request id")
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
            system.campaign.kill()
            let down = try await edge.send(.GET, "/v1/campaigns/\(UUID().uuidString.lowercased())", token: seller.token)
            #expect(down.status == 503 && down.errorCode == "UNAVAILABLE", "\(down.text)")
            #expect(try await edge.send(.GET, "/v1/account", token: seller.token).status == 200)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }
}
