import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PixEcomProtos
import RPCKit

/// `pixecom.testing.v1.EchoService` on a real RPCKit server with mutual TLS (certificate of the
/// `stats` service), for protocol tests and the C client. It records what it saw so tests can
/// check what happened on the server side: calls started, handlers cancelled, stream messages
/// written, the last caller's identity and deadline.
final class EchoServer: Sendable {
    typealias Request = Pixecom_Testing_V1_EchoRequest
    typealias Response = Pixecom_Testing_V1_EchoResponse

    static let service = "pixecom.testing.v1.EchoService"
    static let echo = "\(service)/Echo"
    static let expand = "\(service)/Expand"
    static let fail = "\(service)/Fail"
    static let sleep = "\(service)/Sleep"

    /// What the handlers observed.
    struct Observations: Sendable {
        var calls = 0
        /// Handlers that ended because their call ended first (cancellation, deadline).
        var cancelled = 0
        /// Messages written by `Expand` handlers so far.
        var streamed = 0
        /// `Expand` handlers that returned or threw.
        var streamsEnded = 0
        var lastPeer: String?
        var lastRemaining: Duration?
        var lastMetadata: [String: String] = [:]
    }

    let server: RPCServer
    let observed = NIOLockedValueBox(Observations())
    let name: String
    private let runTask: Task<Void, any Error>

    /// - Parameters:
    ///   - configure: changes to the server configuration (limits, timeouts).
    ///   - routes: further methods, e.g. one that calls another server.
    init(
        certificates: TestCertificates,
        name: String = "echo",
        configure: (inout RPCServerConfiguration) -> Void = { _ in },
        routes: (inout RPCRouter) -> Void = { _ in }
    ) async throws {
        var router = RPCRouter()
        let observed = self.observed
        self.name = name
        router.unary(Self.echo, Request.self) { request, context in
            observed.withLockedValue {
                $0.calls += 1
                $0.lastPeer = context.peerService
                $0.lastRemaining = context.remainingTime
                $0.lastMetadata = context.metadata
            }
            var response = Response()
            response.payload = request.payload
            return response
        }
        router.unary(Self.sleep, Pixecom_Testing_V1_SleepRequest.self) { request, context in
            observed.withLockedValue {
                $0.calls += 1
                $0.lastRemaining = context.remainingTime
            }
            do {
                try await Task.sleep(for: .microseconds(Int64(clamping: request.micros)))
            } catch {
                observed.withLockedValue { $0.cancelled += 1 }
                throw error
            }
            return Response()
        }
        router.unary(Self.fail, Pixecom_Testing_V1_FailRequest.self) { request, _ -> Response in
            observed.withLockedValue { $0.calls += 1 }
            let code = RPCCode(rawValue: Int(request.code)) ?? .unknown
            if request.field.isEmpty { throw RPCError(code, request.message) }
            throw RPCError(code, request.message, fieldViolations: [.init(field: request.field, description: request.message)])
        }
        router.serverStreaming(Self.expand, Pixecom_Testing_V1_ExpandRequest.self, Response.self) { request, writer, _ in
            observed.withLockedValue { $0.calls += 1 }
            defer { observed.withLockedValue { $0.streamsEnded += 1 } }
            do {
                for sequence in 0..<UInt64(request.count) {
                    if request.intervalMicros > 0 {
                        try await Task.sleep(for: .microseconds(Int64(request.intervalMicros)))
                    }
                    var response = Response()
                    response.payload = request.payload
                    response.sequence = sequence
                    try await writer.write(response)
                    observed.withLockedValue { $0.streamed += 1 }
                }
            } catch {
                observed.withLockedValue { $0.cancelled += 1 }
                throw error
            }
        }
        routes(&router)
        var configuration = RPCServerConfiguration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let server = try await RPCServer.bind(
            configuration: configuration,
            tls: try RPCTLS.serverContext(certificates.files(for: "stats")),
            router: router,
            logger: logger
        )
        self.server = server
        self.runTask = Task { try await server.run() }
    }

    var port: Int { self.server.localPort }
    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: self.port) }
    var calls: Int { self.observed.withLockedValue { $0.calls } }

    /// A client of this server presenting `identity`'s certificate.
    func client(
        _ certificates: TestCertificates,
        identity: String = "orders",
        files: TLSFiles? = nil,
        configure: (inout RPCClientConfiguration) -> Void = { _ in }
    ) throws -> RPCClient {
        try Self.client(to: [self.endpoint], certificates, identity: identity, files: files, configure: configure)
    }

    /// A client over several echo servers.
    static func client(
        to endpoints: [Endpoint],
        _ certificates: TestCertificates,
        identity: String = "orders",
        files: TLSFiles? = nil,
        configure: (inout RPCClientConfiguration) -> Void = { _ in }
    ) throws -> RPCClient {
        var configuration = RPCClientConfiguration(endpoints: endpoints, serverService: "stats")
        configure(&configuration)
        return RPCClient(configuration: configuration, tls: try RPCTLS.clientContext(files ?? certificates.files(for: identity)))
    }

    /// Begins a graceful shutdown (GOAWAY, drain) without waiting for it.
    func beginShutdown() { self.server.beginGracefulShutdown() }

    func stop() async {
        self.server.beginGracefulShutdown()
        _ = try? await self.runTask.value
    }

    /// Waits (up to `timeout`) until `condition` holds for what the server observed.
    func wait(
        timeout: Duration = .seconds(10),
        until condition: @Sendable (Observations) -> Bool
    ) async throws -> Observations {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while true {
            let now = self.observed.withLockedValue { $0 }
            if condition(now) { return now }
            if clock.now >= end { return now }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension EchoServer.Request {
    init(_ text: String) {
        self.init()
        self.payload = Data(text.utf8)
    }
}

extension EchoServer.Response {
    var text: String { String(decoding: self.payload, as: UTF8.self) }
}
