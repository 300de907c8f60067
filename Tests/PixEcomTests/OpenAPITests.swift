import Foundation
import Hummingbird
import NIOSSL
import RPCKit
import ServiceKit
import Testing

@testable import Edge

/// `/openapi.json` is kept equal to the routes the edge really serves, and is a usable document.
@Suite("OpenAPI document")
struct OpenAPITests {
    /// The router of a real edge configuration (its clients point nowhere: nothing is called).
    static func router() throws -> Router<EdgeRequestContext> {
        let certificates = try TestCertificates.shared.get()
        let environment = EnvironmentReader([
            "PIXECOM_HTTP_TLS_CERT": certificates.path("edge-https.pem"),
            "PIXECOM_HTTP_TLS_KEY": certificates.path("edge-https.key"),
            "PIXECOM_TLS_CA": certificates.path("ca.pem"),
            "PIXECOM_TLS_CERT": certificates.path("edge.pem"),
            "PIXECOM_TLS_KEY": certificates.path("edge.key"),
            "PIXECOM_AUTH_ADDRESSES": "127.0.0.1:1", "PIXECOM_CAMPAIGN_ADDRESSES": "127.0.0.1:1",
            "PIXECOM_STATS_ADDRESSES": "127.0.0.1:1", "PIXECOM_ORDERS_ADDRESSES": "127.0.0.1:1",
        ])
        let configuration = try EdgeConfiguration(environment: environment)
        let tls = try RPCTLS.clientContext(configuration.tls)
        func client(_ service: String) -> RPCClient {
            RPCClient(configuration: .init(endpoints: [Endpoint(host: "127.0.0.1", port: 1)], serverService: service), tls: tls)
        }
        let clients = ServiceClients(auth: client("auth"), campaign: client("campaign"), stats: client("stats"), orders: client("orders"))
        return EdgeMain.router(configuration: configuration, clients: clients)
    }

    @Test("every route the router serves is in the document, and every operation in the document is a route")
    func documentEqualsRoutes() throws {
        let routes = Set(
            try Self.router().routes.map { route in
                let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                return "\(route.method.rawValue.uppercased()) /" + path.joined(separator: "/")
            })
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        // The document describes itself only by being served.
        #expect(routes.subtracting(documented) == ["GET /openapi.json"], "routes missing from /openapi.json")
        #expect(documented.subtracting(routes).isEmpty, "documented operations that are not routes")
        #expect(documented.count >= 35)
    }

    @Test("every schema the document refers to exists, and answers name the shared error body")
    func referencesResolve() throws {
        let text = String(decoding: OpenAPIDocument.data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.data) as? [String: Any])
        let components = try #require(document["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        let references = text.matches(of: /"#\/components\/schemas\/([A-Za-z0-9_.]+)"/).map { String($0.1) }
        #expect(!references.isEmpty)
        for reference in Set(references) {
            #expect(schemas[reference] != nil, "no schema \(reference)")
        }
        let token = try #require(schemas["pixecom.auth.v1.TokenPair"] as? [String: Any])
        let properties = try #require(token["properties"] as? [String: Any])
        #expect((properties["expiresIn"] as? [String: Any])?["type"] as? String == "string", "int64 travels as a string")
        #expect(properties["accessToken"] != nil, "lowerCamelCase names")
        #expect(document["openapi"] as? String == "3.0.3")
    }
}
