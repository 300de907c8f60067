import Foundation
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The reference of the edge benchmark: a bare Hummingbird 2 HTTPS handler answering GETs with a
/// fixed JSON body per route (the bytes the edge answered for the same request), with no
/// middleware, no RPC and no database.
///
/// Usage: BareJSONServer CERT KEY READY_FILE ROUTE=BODY_FILE... (writes {"http_port":N} to
/// READY_FILE when listening). ROUTE is a Hummingbird path such as `/v1/campaigns/:id`.
@main
struct BareJSONServer {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 5 else {
            FileHandle.standardError.write(Data("usage: BareJSONServer CERT KEY READY_FILE ROUTE=BODY_FILE...\n".utf8))
            exit(2)
        }
        let readyFile = arguments[3]
        let router = Router()
        for route in arguments[4...] {
            guard let equals = route.firstIndex(of: "=") else {
                FileHandle.standardError.write(Data("not ROUTE=BODY_FILE: \(route)\n".utf8))
                exit(2)
            }
            let body = ByteBuffer(data: try Data(contentsOf: URL(fileURLWithPath: String(route[route.index(after: equals)...]))))
            router.get(RouterPath(String(route[..<equals]))) { _, _ in
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
}
