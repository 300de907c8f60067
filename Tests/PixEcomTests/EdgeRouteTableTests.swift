import Foundation
import ServiceKit
import Testing

@testable import Edge

/// The edge's routes come from the methods' HTTP bindings: the table, the OpenAPI operations and
/// docs/API.md agree, the hand-written routes are exactly the methods marked `manual_route`, and
/// the generated routes parse their parameters as their fields' types.
@Suite("Edge routes generated from the HTTP bindings")
struct EdgeRouteTableTests {
    @Test("every method with an HTTP binding is a route; every manual_route method has a hand-written operation")
    func routesCoverTheContracts() {
        let bound = Set(ServiceContracts.all.filter { $0.http != nil }.map(\.name))
        #expect(Set(EdgeRouteTable.all.map(\.method)) == bound)
        #expect(EdgeRouteTable.all.count == bound.count)
        let manual = Set(ServiceContracts.all.filter { $0.manualRoute != nil }.map(\.name))
        #expect(Set(EdgeRouteTable.manual.keys) == manual)
        #expect(Set(OpenAPIDocument.manualOperations.map(\.rpc)) == manual)
        for route in EdgeRouteTable.all {
            let http = ServiceContracts.all.first { $0.name == route.method }?.http
            #expect(http?.verb == route.verb.rawValue, "\(route.method)")
        }
    }

    @Test("each generated operation has its contract's summary, security and idempotency header")
    func operationsFollowTheContracts() throws {
        for route in EdgeRouteTable.all {
            let contract = try #require(ServiceContracts.all.first { $0.name == route.method })
            let operation = OpenAPIDocument.operation(for: route)
            #expect(operation.summary == contract.summary)
            #expect(operation.authentication == (contract.access == .anyone ? .none : .bearer), "\(route.method)")
            #expect(operation.idempotencyKey == (contract.idempotency == .withKey))
            #expect(operation.operationID == route.method.split(separator: "/").last.map(String.init))
            #expect(operation.pathParameters.map(\.name) == route.pathParameters.map(\.name))
        }
        let stats = try #require(OpenAPIDocument.operations.first { $0.rpc == StatsMethods.getCampaignStats })
        #expect(stats.path == "/v1/campaigns/{id}/stats", "the segment is named as GET /v1/campaigns/{id} names it")
        #expect(stats.pathParameters.map(\.name) == ["id"])
        #expect(stats.query.map(\.name) == ["since", "until"] && stats.query.allSatisfy(\.isRequired))
        let adAccounts = try #require(OpenAPIDocument.operations.first { $0.rpc == CampaignMethods.listAdAccounts })
        #expect(adAccounts.query.map(\.name) == ["pageSize", "pageToken"], "ad accounts have no parent to list by")
    }

    @Test("docs/API.md lists every generated route")
    func theDocumentListsTheRoutes() throws {
        let document = try String(
            contentsOf: TestEnvironment.packageRoot.appendingPathComponent("docs/API.md"), encoding: .utf8)
        for route in EdgeRouteTable.all {
            let service = route.method.split(separator: ".").last ?? ""
            #expect(document.contains("| `\(route.verb.rawValue) \(route.path)` | `\(service)` |"), "\(route.method)")
        }
    }

    @Test("query parameters are parsed as their fields' types, path values win over nothing but themselves (400 naming them)")
    func parametersAreTyped() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Routes")
            func field(_ reply: EdgeHTTPClient.Reply) -> String? {
                (((reply.json["error"] as? [String: Any])?["details"] as? [[String: Any]])?.first)?["field"] as? String
            }
            let notNumber = try await edge.send(.GET, "/v1/orders?pageSize=many", token: seller.token)
            #expect(notNumber.status == 400 && field(notNumber) == "pageSize", "\(notNumber.text)")
            #expect(notNumber.text.contains("must be an integer"), "\(notNumber.text)")
            let twice = try await edge.send(.GET, "/v1/audit-events?pageSize=1&pageSize=2", token: seller.token)
            #expect(twice.status == 400 && field(twice) == "pageSize" && twice.text.contains("given once"), "\(twice.text)")
            let listed = try await edge.send(.GET, "/v1/orders?pageSize=1", token: seller.token)
            #expect(listed.status == 200, "\(listed.text)")

            let path = UUID().uuidString.lowercased()
            let other = try await edge.send(
                .POST, "/v1/orders/\(path)/refund", json: ["id": UUID().uuidString, "amount": "1"], token: seller.token)
            #expect(other.status == 400 && other.text.contains("differs from the id in the path"), "\(other.text)")
            let same = try await edge.send(.POST, "/v1/orders/\(path)/refund", json: ["id": path, "amount": "1"], token: seller.token)
            #expect(!same.text.contains("differs"), "the path's own id in the body is no conflict: \(same.text)")

            // A route below another's path parameter (the stats of a campaign): both resolve.
            let campaign = try await edge.send(.GET, "/v1/campaigns/\(path)", token: seller.token)
            #expect(campaign.status == 404 && campaign.errorCode == "NOT_FOUND", "\(campaign.text)")
            let stats = try await edge.send(.GET, "/v1/campaigns/\(path)/stats?since=2026-01-01&until=2026-01-02", token: seller.token)
            #expect(stats.status != 405 && !stats.text.contains("no such route"), "\(stats.text)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }
}
