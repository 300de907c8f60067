import EchoService
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PixEcomProtos
import RPCKit
import Testing

/// `pixecom.testing.v1.EchoService` on a real RPCKit server with mutual TLS (certificate of the
/// `stats` service), for protocol tests and the C client. It records what it saw so tests can
/// check what happened on the server side: calls started, handlers cancelled, stream messages
/// written, the last caller's identity and deadline.
final class EchoServer: Sendable {
    typealias Request = Pixecom_Testing_V1_EchoRequest
    typealias Response = Pixecom_Testing_V1_EchoResponse

    static let echo = EchoService.echo
    static let expand = EchoService.expand
    static let fail = EchoService.fail
    static let sleep = EchoService.sleep

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
        EchoService { event in
            observed.withLockedValue { seen in
                switch event {
                case .started(let context):
                    seen.calls += 1
                    seen.lastPeer = context.peerService
                    seen.lastRemaining = context.remainingTime
                    seen.lastMetadata = context.metadata
                case .interrupted: seen.cancelled += 1
                case .streamed: seen.streamed += 1
                case .streamEnded: seen.streamsEnded += 1
                }
            }
        }.register(on: &router)
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

    /// Calls Echo presenting `files` and expects the TLS handshake to refuse it: the call fails
    /// with UNAVAILABLE and the server serves nothing. The timeout leaves the client's attempts
    /// (each a refused handshake) time to run out first, even on a busy machine.
    func expectHandshakeRefused(_ certificates: TestCertificates, files: TLSFiles) async throws {
        let client = try self.client(certificates, files: files)
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(Self.echo, Self.Request(), as: Self.Response.self, timeout: .seconds(60))
        }
        #expect(error?.code == .unavailable)
        #expect(self.calls == 0)
        await client.close()
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
