import Foundation
import RPCKit
import ServiceKit
import Testing

/// The contracts come from the .proto files' method options: the generator refuses a method
/// without them, naming it, and what it generated is what the services enforce.
@Suite("Contracts generated from Protos/")
struct ContractGenTests {
    /// Runs protoc over `proto` (with Protos/ on the include path) and ContractGen over the result,
    /// into a new package root; `output` is its `Sources/ServiceKit/Generated`, `routes` its
    /// `Sources/Edge/Generated`.
    private func generate(_ proto: String) async throws -> (status: Int32, stderr: String, output: URL, routes: URL) {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-contractgen")
        let source = directory.appendingPathComponent("pixecom/trial/v1")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try proto.write(to: source.appendingPathComponent("trial.proto"), atomically: true, encoding: .utf8)
        let descriptors = directory.appendingPathComponent("descriptors.pb").path
        let protos = TestEnvironment.packageRoot.appendingPathComponent("Protos").path
        let protoc = try await CClient.runProgram(
            URL(fileURLWithPath: "/usr/bin/protoc"),
            [
                "-I", directory.path, "-I", protos, "--include_imports", "--include_source_info",
                "--descriptor_set_out=\(descriptors)", "pixecom/trial/v1/trial.proto",
            ],
            timeout: .seconds(60)
        )
        try #require(protoc.status == 0, "protoc: \(protoc.stderr)")
        let generator = TestEnvironment.binDirectory.appendingPathComponent("ContractGen")
        let run = try await CClient.runProgram(generator, [descriptors, directory.path], timeout: .seconds(60))
        return (
            run.status, run.stderr, directory.appendingPathComponent("Sources/ServiceKit/Generated"),
            directory.appendingPathComponent("Sources/Edge/Generated")
        )
    }

    private static let header = """
        syntax = "proto3";
        package pixecom.trial.v1;
        import "pixecom/options/v1/options.proto";
        message PingRequest { string id = 1; }
        message PingResponse {}

        """

    @Test func aMethodWithoutItsOptionsIsRefusedByName() async throws {
        let result = try await self.generate(
            Self.header + """
                service TrialService {
                  rpc Ping(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "Pings." access: VIEWER};
                  }
                  rpc Forgotten(PingRequest) returns (PingResponse);
                }
                """
        )
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("pixecom.trial.v1.TrialService/Forgotten: no (pixecom.options.v1.method) option"), "\(result.stderr)")
        #expect(!result.stderr.contains("TrialService/Ping"), "\(result.stderr)")
    }

    @Test func inconsistentOptionsAreRefusedNamingTheMethodAndTheProblem() async throws {
        let result = try await self.generate(
            Self.header + """
                service TrialService {
                  rpc NoAccess(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x"};
                  }
                  rpc NoService(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: SERVICES};
                  }
                  rpc BadPath(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {get: "/v1/pings/{ping_id}"}};
                  }
                  rpc BadBody(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {post: "/v1/pings" body: "nope"}};
                  }
                }
                """
        )
        #expect(result.status == 2)
        for expected in [
            "TrialService/NoAccess: access is not set",
            "TrialService/NoService: access SERVICES names no service",
            "TrialService/BadPath: path parameter {ping_id} is not a field of PingRequest",
            "TrialService/BadBody: body \"nope\" is not a field of PingRequest",
        ] {
            #expect(result.stderr.contains(expected), "missing \(expected) in \(result.stderr)")
        }
    }

    @Test func aCompleteServiceGetsItsMethodsAccessTableHandlerProtocolAndClient() async throws {
        let result = try await self.generate(
            Self.header + """
                service TrialService {
                  rpc Ping(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {
                      summary: "Pings." access: EDITOR idempotency: IDEMPOTENT http: {get: "/v1/pings/{id}"}
                    };
                  }
                }
                """
        )
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: result.output.appendingPathComponent("Contracts+Trial.swift"), encoding: .utf8)
        #expect(text.contains("public static let ping = \"pixecom.trial.v1.TrialService/Ping\""))
        #expect(text.contains("public static let trial = AccessPolicy(TrialMethods.contracts)"))
        #expect(text.contains("access: .role(.editor)"))
        #expect(text.contains("http: MethodContract.HTTPBinding(verb: \"GET\", path: \"/v1/pings/{id}\", body: \"\")"))
        #expect(text.contains("public protocol TrialServiceHandling: Sendable"))
        #expect(
            text.contains(
                "func ping(_ request: Pixecom_Trial_V1_PingRequest, context: ServerContext) async throws -> Pixecom_Trial_V1_PingResponse"))
        #expect(text.contains("public struct TrialServiceClient: Sendable"))
        #expect(text.contains("idempotent: true"))
        let routes = try String(contentsOf: result.routes.appendingPathComponent("EdgeRouteTable+Trial.swift"), encoding: .utf8)
        #expect(routes.contains("TrialMethods.ping, .get, \"/v1/pings/{id}\", service: .trial,"), "\(routes)")
    }

    /// A binding's path parameters, query parameters and body become the route's, with JSON names
    /// and the fields' types; what cannot be a route is refused by name.
    @Test func anHTTPBindingBecomesARouteWithTypedParameters() async throws {
        let result = try await self.generate(
            Self.header + """
                enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
                message FindRequest { string parent_id = 1; int32 page_size = 2; bool deep = 3; Color color = 4; }
                message PatchRequest { string id = 1; string name = 2; string update_mask = 3; }
                message WrapRequest { string id = 1; PingResponse part = 2; }
                service TrialService {
                  rpc GetParent(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "Gets." access: ANYONE http: {get: "/v1/parents/{id}"}};
                  }
                  rpc Find(FindRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "Finds." access: ANYONE http: {get: "/v1/parents/{parent_id}/pings"}};
                  }
                  rpc Patch(PatchRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "Patches." access: EDITOR http: {patch: "/v1/pings/{id}" body: "*"}};
                  }
                  rpc Wrap(WrapRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "Wraps." access: EDITOR http: {put: "/v1/pings/{id}/part" body: "part"}};
                  }
                }
                """
        )
        #expect(result.status == 0, "\(result.stderr)")
        let routes = try String(contentsOf: result.routes.appendingPathComponent("EdgeRouteTable+Trial.swift"), encoding: .utf8)
        for expected in [
            // The segment after /v1/parents is named as the route before names it: one name per position.
            "TrialMethods.find, .get, \"/v1/parents/{id}/pings\", service: .trial,",
            "path: [.value(\"id\", \\.parentID)]",
            ".value(\"pageSize\", \\.pageSize),",
            ".value(\"deep\", \\.deep),",
            ".enumeration(\"color\", \\.color, [\"COLOR_UNSPECIFIED\": 0, \"RED\": 1]),",
            "TrialMethods.patch, .patch, \"/v1/pings/{id}\"",
            "body: .request,\n            updateMask: .field(\\.updateMask)",
            "body: .field(\"part\", Pixecom_Trial_V1_PingResponse.self, \\.part)",
        ] {
            #expect(routes.contains(expected), "missing \(expected) in \(routes)")
        }
        let index = try String(contentsOf: result.routes.appendingPathComponent("EdgeRouteTable.swift"), encoding: .utf8)
        #expect(index.contains("static let all: [EdgeRoute] =\n        trial\n"), "\(index)")
    }

    @Test func bindingsThatCannotBeRoutesAreRefusedByName() async throws {
        let result = try await self.generate(
            Self.header + """
                message Deep { PingResponse part = 1; repeated string tags = 2; }
                service TrialService {
                  rpc GetWithBody(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {get: "/v1/pings" body: "*"}};
                  }
                  rpc MessageInQuery(Deep) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {get: "/v1/deep"}};
                  }
                  rpc Twice(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {get: "/v1/pings/{id}"}};
                  }
                  rpc Again(PingRequest) returns (PingResponse) {
                    option (pixecom.options.v1.method) = {summary: "x" access: VIEWER http: {get: "/v1/pings/{id}"}};
                  }
                }
                """
        )
        #expect(result.status == 2)
        for expected in [
            "TrialService/GetWithBody: a GET has no body",
            "TrialService/MessageInQuery: query parameter part must be a single scalar or enum field",
            "TrialService/MessageInQuery: query parameter tags must be a single scalar or enum field",
            "TrialService/Again: GET /v1/pings/{id} is already the route of pixecom.trial.v1.TrialService/Twice",
        ] {
            #expect(result.stderr.contains(expected), "missing \(expected) in \(result.stderr)")
        }
    }

    /// The tables the services enforce are the generated ones, and cover every method of the
    /// .proto files with the rules they state.
    @Test func theGeneratedTablesAreTheOnesInForce() {
        #expect(AccessPolicy.stats.rule(for: StatsMethods.recordOrderEvent) == .services(["orders"]))
        #expect(AccessPolicy.orders.rule(for: OrderMethods.refundOrder) == .role(.admin))
        #expect(AccessPolicy.auth.rule(for: AuthMethods.login) == .anyone)
        #expect(IdempotentMethods.all.contains(CampaignMethods.getCampaign))
        #expect(!IdempotentMethods.all.contains(CampaignMethods.createCampaign))
        #expect(
            KeyedIdempotentMethods.all == [
                OrderMethods.createOrder, OrderMethods.markPaid, OrderMethods.authorizePayment, OrderMethods.capturePayment,
                OrderMethods.voidPayment, OrderMethods.refundOrder, OrderMethods.recordChargeback, OrderMethods.reverseChargeback,
                OrderMethods.cancelOrder, OrderMethods.closeOrder, OrderMethods.createSellPage, OrderMethods.updateSellPage,
                OrderMethods.createFulfillment, OrderMethods.updateTracking, OrderMethods.cancelFulfillment, OrderMethods.recordReturn,
                OrderMethods.startOrderImport, OrderMethods.addDomain, OrderMethods.checkout, CampaignMethods.createCampaignTree,
                CampaignMethods.duplicateCampaign,
            ])
        #expect(Set(ServiceContracts.all.map(\.name)).count == ServiceContracts.all.count)
        #expect(ServiceContracts.all.count == 20 + 43 + 6 + 33)
    }
}
