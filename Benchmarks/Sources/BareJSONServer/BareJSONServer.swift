import Foundation
import Hummingbird
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The reference of the edge benchmark: a bare Hummingbird 2 HTTPS handler answering
/// `GET /v1/campaigns/{id}` with a fixed JSON body (the bytes the edge answered for the same
/// request), with no middleware, no RPC and no database.
///
/// Usage: BareJSONServer CERT KEY BODY_FILE READY_FILE (writes {"http_port":N} when listening).
@main
struct BareJSONServer {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 5 else {
            FileHandle.standardError.write(Data("usage: BareJSONServer CERT KEY BODY_FILE READY_FILE\n".utf8))
            exit(2)
        }
        let body = ByteBuffer(data: try Data(contentsOf: URL(fileURLWithPath: arguments[3])))
        let readyFile = arguments[4]
        let router = Router()
        router.get("/v1/campaigns/:id") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: body))
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
