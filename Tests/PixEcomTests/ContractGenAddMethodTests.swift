import Foundation
import Testing

/// A new RPC method is written in two places, its .proto and its handler; everything else follows.
///
/// The test adds `ArchiveCampaign` (with its options and an HTTP binding) to a copy of
/// campaign.proto and regenerates into a temporary folder, then compiles against the modules the
/// build already made (`ModuleTypeChecker`: type-checking only, no objects, no linking):
/// ServiceKit with the regenerated contracts, CampaignService without the handler (refused, naming
/// the missing function) and with it (compiles), and the Edge with the regenerated route table.
/// The generated files then hold the method's access rule, its route and its row in docs/API.md;
/// its OpenAPI operation is the route's (`OpenAPIDocument.operations` maps the route table, which
/// OpenAPITests holds equal to the router). The method reuses existing messages, so
/// protoc-gen-swift's code does not change and is not needed here.
@Suite("Adding an RPC method", .serialized)
struct ContractGenAddMethodTests {
    static let method = """
          rpc ArchiveCampaign(GetRequest) returns (Campaign) {
            option (pixecom.options.v1.method) = {
              summary: "Archives a campaign."
              access: EDITOR
              idempotency: IDEMPOTENT
              http: {post: "/v1/campaigns/{id}/archive" body: "*"}
            };
          }

        """

    static let handler = """
        import PixEcomProtos
        import RPCKit

        extension CampaignHandlers {
            func archiveCampaign(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws
                -> Pixecom_Campaign_V1_Campaign
            {
                throw RPCError(.unimplemented, "archiving is written by the next commit")
            }
        }

        """

    @Test("a method added to the .proto needs only its handler to compile, and gets its route, access rule and docs")
    func aNewMethodNeedsOnlyItsHandler() async throws {
        let root = TestEnvironment.packageRoot
        let copy = try TestEnvironment.temporaryDirectory("pixecom-add-method")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: root.appendingPathComponent("Protos"), to: copy.appendingPathComponent("Protos"))
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("docs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent("docs/API.md"), to: copy.appendingPathComponent("docs/API.md"))

        // 1. The method, in the .proto only.
        let proto = copy.appendingPathComponent("Protos/pixecom/campaign/v1/campaign.proto")
        var text = try String(contentsOf: proto, encoding: .utf8)
        let service = try #require(text.range(of: "service CampaignService {"))
        let end = try #require(text.range(of: "\n}\n", range: service.upperBound..<text.endIndex))
        text.insert(contentsOf: "\n" + Self.method.dropLast(), at: end.lowerBound)
        try text.write(to: proto, atomically: true, encoding: .utf8)

        // 2. Regenerate, as scripts/generate-protos.sh does.
        let descriptors = copy.appendingPathComponent("descriptors.pb").path
        let files = try FileManager.default.subpathsOfDirectory(atPath: copy.appendingPathComponent("Protos").path)
            .filter { $0.hasSuffix(".proto") }.sorted()
        let protoc = try await CClient.runProgram(
            URL(fileURLWithPath: "/usr/bin/protoc"),
            [
                "-I", copy.appendingPathComponent("Protos").path, "--include_imports", "--include_source_info",
                "--descriptor_set_out=\(descriptors)",
            ]
                + files,
            timeout: .seconds(60))
        try #require(protoc.status == 0, "protoc: \(protoc.stderr)")
        let generate = try await CClient.runProgram(
            TestEnvironment.binDirectory.appendingPathComponent("ContractGen"), [descriptors, copy.path], timeout: .seconds(60))
        try #require(generate.status == 0, "ContractGen: \(generate.stderr)")

        // 3. What was generated: the access rule, the handler requirement, the route, the docs row.
        let contracts = copy.appendingPathComponent("Sources/ServiceKit/Generated")
        let routes = copy.appendingPathComponent("Sources/Edge/Generated")
        let campaign = try String(contentsOf: contracts.appendingPathComponent("Contracts+Campaign.swift"), encoding: .utf8)
        #expect(campaign.contains("public static let archiveCampaign = \"pixecom.campaign.v1.CampaignService/ArchiveCampaign\""))
        #expect(
            campaign.contains("name: archiveCampaign,\n            summary: \"Archives a campaign.\",\n            access: .role(.editor),")
        )
        #expect(
            campaign.contains(
                "func archiveCampaign(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Campaign"
            ))
        let table = try String(contentsOf: routes.appendingPathComponent("EdgeRouteTable+Campaign.swift"), encoding: .utf8)
        #expect(table.contains("CampaignMethods.archiveCampaign, .post, \"/v1/campaigns/{id}/archive\", service: .campaign,"), "\(table)")
        let document = try String(contentsOf: copy.appendingPathComponent("docs/API.md"), encoding: .utf8)
        #expect(document.contains("| `POST /v1/campaigns/{id}/archive` | `CampaignService/ArchiveCampaign` | EDITOR |"))

        // 4. Compile: ServiceKit with the new contracts, then the service without and with its handler.
        let checker = try ModuleTypeChecker()
        let modules = copy.appendingPathComponent("modules")
        try FileManager.default.createDirectory(at: modules, withIntermediateDirectories: true)
        let generated = try FileManager.default.contentsOfDirectory(at: contracts, includingPropertiesForKeys: nil)
        let serviceKit = try await checker.check("ServiceKit", replacements: generated, emitModuleTo: modules)
        try #require(serviceKit.status == 0, "ServiceKit with the new contracts: \(serviceKit.stderr)")

        let without = try await checker.check("CampaignService", modules: modules)
        #expect(without.status != 0, "CampaignService compiled without the handler")
        #expect(
            without.stderr.contains("type 'CampaignHandlers' does not conform to protocol 'CampaignServiceHandling'"), "\(without.stderr)")
        #expect(without.stderr.contains("archiveCampaign(_:context:)"), "the error names the missing handler: \(without.stderr)")

        let handler = copy.appendingPathComponent("CampaignHandlers+Archive.swift")
        try Self.handler.write(to: handler, atomically: true, encoding: .utf8)
        let with = try await checker.check("CampaignService", additions: [handler], modules: modules)
        #expect(with.status == 0, "CampaignService with the handler: \(with.stderr)")

        // 5. The edge serves and documents the route with no edit of its own.
        let edgeTables = try FileManager.default.contentsOfDirectory(at: routes, includingPropertiesForKeys: nil)
        let edge = try await checker.check("Edge", replacements: edgeTables, modules: modules)
        #expect(edge.status == 0, "the Edge with the new route table: \(edge.stderr)")
    }
}
