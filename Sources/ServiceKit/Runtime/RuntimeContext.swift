import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceLifecycle

/// What a service's setup gets from the runtime: its configuration, logger, database pool and the
/// means to reach other services.
public struct RuntimeContext: Sendable {
    public let name: String
    public let configuration: ServiceConfiguration
    public let environment: EnvironmentReader
    public let logger: Logger
    /// The pool of this service's own database; nil for services without one (the edge).
    public let database: PostgresClient?
    public let clientTLS: NIOSSLContext
    /// Every client made by `client(for:addressesVariable:)`; the runtime runs their health
    /// checking and DNS re-resolution and closes them at shutdown.
    let clients: ClientRegistry

    /// A client to another service whose replicas are listed in `addressesVariable`, with the
    /// standard interceptors (metrics, tracing) and that service's idempotent methods declared.
    public func client(for service: String, addressesVariable: String) throws -> RPCClient {
        let endpoints = try self.environment.endpoints(addressesVariable)
        let client = RPCClient(configuration: .standard(endpoints: endpoints, service: service), tls: self.clientTLS)
        self.clients.add(client)
        return client
    }

    /// The database pool; a programming error to ask for it in a service without one.
    public var db: PostgresClient {
        guard let database = self.database else { preconditionFailure("\(self.name) has no database") }
        return database
    }

    /// This service's token verifier: AuthService's public keys over RPC, fetched again when a
    /// token is verified with keys older than `PIXECOM_TOKEN_KEYS_MAX_AGE_SECONDS` (default 60).
    public func tokenVerifier(auth: RPCClient) throws -> TokenVerifier {
        let maxAge = try self.environment.int("PIXECOM_TOKEN_KEYS_MAX_AGE_SECONDS", default: 60, range: 1...3600)
        return Self.tokenVerifier(auth: auth, maxKeyAge: .seconds(maxAge))
    }

    /// A token verifier using AuthService's public keys over RPC.
    public static func tokenVerifier(auth: RPCClient, maxKeyAge: Duration = .seconds(60)) -> TokenVerifier {
        TokenVerifier(maxKeyAge: maxKeyAge) {
            let set = try await auth.unary(
                AuthMethods.getPublicKeys,
                Pixecom_Auth_V1_GetPublicKeysRequest(),
                as: Pixecom_Auth_V1_PublicKeySet.self,
                timeout: .seconds(5)
            )
            var keys: [String: Data] = [:]
            for key in set.keys where key.ed25519.count == 32 {
                keys[key.kid] = key.ed25519
            }
            return keys
        }
    }
}

/// The clients a process made, to run and close with it. Thread-safe.
public final class ClientRegistry: Sendable {
    private let clients = NIOLockedValueBox<[RPCClient]>([])

    public init() {}

    public func add(_ client: RPCClient) {
        self.clients.withLockedValue { $0.append(client) }
    }

    public var all: [RPCClient] { self.clients.withLockedValue { $0 } }
}

extension RPCClientConfiguration {
    /// A PixEcom client: metrics and tracing interceptors, and the idempotent methods of the
    /// service (`Methods.swift`), so that only those are retried after a failure that may have
    /// reached the server.
    public static func standard(endpoints: [Endpoint], service: String) -> RPCClientConfiguration {
        var configuration = RPCClientConfiguration(endpoints: endpoints, serverService: service)
        configuration.interceptors = [TracingClientInterceptor(), MetricsClientInterceptor()]
        configuration.idempotentMethods = IdempotentMethods.all
        return configuration
    }
}

/// What a service contributes to the runtime.
public struct ServiceSetup: Sendable {
    public var router: RPCRouter
    /// Who may call each method of `router`; the service refuses to start when a method has no
    /// rule.
    public var access: AccessPolicy
    /// Verifies access tokens for the methods the policy gives to roles.
    public var verifier: TokenVerifier?
    /// Background work run beside the server (key refresh, the
    /// password-hash pool): stopped at shutdown once the server has drained, last first
    /// (`ProcessServices`).
    public var services: [any Service & Sendable]
    /// Extra `/readyz` checks; the database check is added by the runtime.
    public var readiness: [String: AdminServer.ReadinessCheck]
    /// The service's job kinds: with any, the runtime runs a `JobRunner` on the service's
    /// database among the background parts, configured by `PIXECOM_JOB_*`
    /// (`JobRunnerConfiguration.init(environment:kinds:)`).
    public var jobs: JobKinds

    public init(
        router: RPCRouter,
        access: AccessPolicy,
        verifier: TokenVerifier?,
        services: [any Service & Sendable] = [],
        readiness: [String: AdminServer.ReadinessCheck] = [:],
        jobs: JobKinds = JobKinds()
    ) {
        self.router = router
        self.access = access
        self.verifier = verifier
        self.services = services
        self.readiness = readiness
        self.jobs = jobs
    }
}
