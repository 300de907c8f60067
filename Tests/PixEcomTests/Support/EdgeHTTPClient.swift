import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// A JSON client of the edge over HTTPS, trusting the test CA.
struct EdgeHTTPClient: Sendable {
    struct Reply: @unchecked Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: self.body, as: UTF8.self) }
        /// `error.code` of an error reply.
        var errorCode: String? { (self.json["error"] as? [String: Any])?["code"] as? String }
    }

    let http: HTTPClient
    let baseURL: String

    init(port: Int, caPath: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        self.baseURL = "https://localhost:\(port)"
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        json: [String: Any]? = nil,
        token: String? = nil,
        headers extra: [(String, String)] = [],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        let response = try await self.http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    /// Sends `body` byte for byte (no JSON encoding): for webhook deliveries, whose signature
    /// covers the exact bytes.
    func sendRaw(
        _ method: HTTPMethod, _ path: String, body: Data, headers extra: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        request.body = .bytes(ByteBuffer(bytes: body))
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        let response = try await self.http.execute(request, timeout: timeout)
        let reply = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: reply))
    }

    func shutdown() async throws {
        try await self.http.shutdown()
    }
}
