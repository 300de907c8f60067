import Foundation
import Testing

/// schemathesis (PyPI) against `/openapi.json` of a running system: generated and mutated
/// requests for every operation, statefully chained through the links it finds; no answer may be
/// a server error or break the documented schema, status codes, content type or headers.
///
/// With `positive_data_acceptance`: a request the document calls valid must not be refused as
/// bad input (400), so the document is as strict as the services' checks. It may get 422
/// (FAILED_PRECONDITION: well formed, but the account's state refuses it, e.g. a plan limit
/// reached after the first few creations) besides schemathesis' defaults (2xx, 401, 403, 404 for
/// the random ids it draws, 409, 429). A fixed seed, derandomized generation and a bounded
/// number of examples keep the run deterministic and short. `scripts/test.sh` installs
/// schemathesis and sets `PIXECOM_SCHEMATHESIS`.
@Suite("schemathesis against /openapi.json", .serialized)
struct SchemathesisTests {
    /// Rules no JSON Schema here states, each a relation between values the document does
    /// describe: there, a schema-valid request may also get 400.
    static let configuration = """
        [checks.positive_data_acceptance]
        expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

        # until must not be before since, nor more than 365 days after it.
        [[operations]]
        include-operation-id = "GetCampaignStats"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # One row per ad and date in a batch. A batch of many rows with many actions each can pass
        # the edge's body limit (PIXECOM_HTTP_MAX_BODY_BYTES): 413, as for any body.
        [[operations]]
        include-operation-id = "IngestInsights"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "413", "422", "429"]

        # The ads manager's sort and filter are small languages (metric names, comparisons), a
        # campaign level takes no parent, and until must not be before since.
        [[operations]]
        include-operation-id = "GetAdsManager"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # An id is required except at the SELLER level, where it must be empty; until must not be
        # before since.
        [[operations]]
        include-operation-id = "GetStats"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # Payment transactions: an amount is positive and at most what the order's history leaves
        # room for (what remains to authorize, capture or refund); a gateway reference is printable
        # ASCII without spaces, and a chargeback needs one; a cancellation names its reason.
        [[operations]]
        include-operation-id = "RefundOrder"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "AuthorizePayment"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "CapturePayment"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "MarkPaid"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "VoidPayment"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "RecordChargeback"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "ReverseChargeback"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "CancelOrder"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "CloseOrder"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # Fulfillments and returns: units at most what each line leaves to ship or to return,
        # each line named once; a tracking number of 4 to 64 letters, digits or dashes; an https
        # tracking URL. A cancelled fulfillment's tracking does not change.
        [[operations]]
        include-operation-id = "CreateFulfillment"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "UpdateTracking"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "CancelFulfillment"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "RecordReturn"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # The export's times are RFC 3339 as Foundation reads them (upper-case T and Z, at most
        # millisecond fractions).
        [[operations]]
        include-operation-id = "ExportOrders"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # Imports: a kind (ORDERS or FULFILLMENTS), a name, a size of 1 byte to 256 MiB; chunks at
        # the offset the bytes received so far end; Finish once every byte came.
        [[operations]]
        include-operation-id = "StartOrderImport"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "ImportOrders"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "AppendOrderImport"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "FinishOrderImport"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # A path field repeated in a body must name the same object as the path (the routes above
        # take the whole request as their body, and the document describes it whole).

        # Sell pages: a slug, SKUs and discount codes in their alphabets, unique within the page;
        # at least one variant; percentages up to 100. Domains are host names. A checkout prices
        # the items from the page (a SKU not on it, or a unit price other than the page's, is
        # 400), validates the buyer's e-mail, phone, address and country, and needs an
        # Idempotency-Key.
        [[operations]]
        include-operation-id = "CreateSellPage"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "UpdateSellPage"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "AddDomain"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "VerifyDomain"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "Checkout"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # A campaign has at most one of a daily and a lifetime budget.
        [[operations]]
        include-operation-id = "CreateCampaign"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # An ad set: one budget type at most, age_min not above age_max, an end after the start and
        # in the future, an end with a lifetime budget, link-click billing only for link clicks.
        [[operations]]
        include-operation-id = "CreateAdSet"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "UpdateAdSet"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # The wizard: the ad sets' own relations, and their campaignId and the ads' adSetId stay
        # empty (the parents are the ones created with them).
        [[operations]]
        include-operation-id = "CreateCampaignTree"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # Each object at most once, and each change sets something.
        [[operations]]
        include-operation-id = "BulkUpdate"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # A strategy: one budget type at most, a bid amount exactly with a cap bid strategy, a
        # ROAS floor exactly with MIN_ROAS, link-click billing only with the link-click goal.
        [[operations]]
        include-operation-id = "CreateAdStrategy"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "UpdateAdStrategy"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # A platform access token must be one the platform issued this seller's user.
        [[operations]]
        include-operation-id = "ConnectPlatform"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # The default page must be one of the account's pages, the default pixel one of its.
        [[operations]]
        include-operation-id = "UpdateAdAccount"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # An upload's size must fit its type (30 MiB for an image); a file's bytes must be a
        # supported format, and a direct body names the file in ?name=; a chunk starts where the
        # bytes received so far end.
        [[operations]]
        include-operation-id = "StartAssetUpload"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "UploadAsset"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "AppendAssetUpload"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # An ad text has 1 to 5 primary texts and up to 5 headlines and descriptions; a creative's
        # format decides which asset slots it fills (and of which type), a carousel has 2 to 10
        # cards, and url_tags know three macros.
        [[operations]]
        include-operation-id = "CreateAdText"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        [[operations]]
        include-operation-id = "CreateCreative"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

        # The current password must be the caller's.
        [[operations]]
        include-operation-id = "ChangePassword"
        checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]
        """

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
                "--checks", "all",
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
            // Read from the working directory: the statuses a schema-valid request may get.
            try Data(Self.configuration.utf8).write(to: scratch.appendingPathComponent("schemathesis.toml"))
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            // The failures first (each with its curl command), then the summary.
            let failures = text.range(of: "FAILURES").map { String(text[$0.lowerBound...].prefix(12000)) } ?? ""
            #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(failures)\n…\n\(text.suffix(3000))")
            #expect(text.contains("Tested: 38") || text.contains("Tested:"), "\(text.suffix(2000))")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try await edge.shutdown()
        await system.stop()
    }
}
