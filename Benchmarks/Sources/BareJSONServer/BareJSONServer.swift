import Foundation
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The references of the edge benchmark: bare Hummingbird 2 HTTPS handlers answering GETs with
/// the JSON the edge answered for the same request, with no middleware, no RPC and no database.
/// Each route is served two ways:
///
/// - `ROUTE`: the usual Hummingbird JSON route. The handler returns a `Codable` value
///   (`Account` or `Campaign`, decoded from the file at start) and Hummingbird's default
///   `JSONEncoder` writes it, as in Hummingbird's own examples. The bytes equal the file.
/// - `/bytes` + `ROUTE`: the file's bytes as they are, nothing encoded per request. The
///   cheapest any handler can answer; the stricter reference.
///
/// Usage: BareJSONServer CERT KEY READY_FILE ROUTE=MODEL:BODY_FILE... (writes {"http_port":N} to
/// READY_FILE when listening). ROUTE is a Hummingbird path such as `/v1/campaigns/:id`; MODEL is
/// `account` or `campaign`.
@main
struct BareJSONServer {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 5 else {
            fail("usage: BareJSONServer CERT KEY READY_FILE ROUTE=MODEL:BODY_FILE...")
        }
        let readyFile = arguments[3]
        let router = Router()
        for route in arguments[4...] {
            guard let equals = route.firstIndex(of: "="), let colon = route[equals...].firstIndex(of: ":") else {
                fail("not ROUTE=MODEL:BODY_FILE: \(route)")
            }
            let path = String(route[..<equals])
            let model = String(route[route.index(after: equals)..<colon])
            let data = try Data(contentsOf: URL(fileURLWithPath: String(route[route.index(after: colon)...])))
            switch model {
            case "account":
                let account = try JSONDecoder().decode(Account.self, from: data)
                router.get(RouterPath(path)) { _, _ in account }
            case "campaign":
                let campaign = try JSONDecoder().decode(Campaign.self, from: data)
                router.get(RouterPath(path)) { _, _ in campaign }
            default:
                fail("unknown MODEL \(model) (account or campaign)")
            }
            let body = ByteBuffer(data: data)
            router.get(RouterPath("/bytes" + path)) { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: body))
            }
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(arguments[1]).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: arguments[2], format: .pem))
        )
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        let app = Application(
            router: router,
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                try? Data("{\"http_port\":\(port)}".utf8).write(to: URL(fileURLWithPath: readyFile))
            }
        )
        try await app.runService()
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}

/// `GET /v1/account` as a plain Hummingbird app would model it. Properties in the order the
/// edge writes them; absent ones are left out, as proto3 JSON leaves out defaults.
struct Account: ResponseCodable {
    struct Limits: Codable {
        var adAccounts: Int?
        var campaigns: Int?
        var members: Int?
    }

    var userId: String
    var sellerId: String
    var role: String
    var plan: String?
    var limits: Limits?
    var tokenExpiresAt: String?
}

/// `GET /v1/campaigns/{id}` as a plain Hummingbird app would model it (int64 values as strings,
/// as in proto3 JSON).
struct Campaign: ResponseCodable {
    var id: String
    var adAccountId: String
    var name: String
    var objective: String
    var status: String
    var dailyBudget: String?
    var externalId: String?
    var createTime: String?
    var updateTime: String?
}
