import Logging
import PostgresNIO
import RPCKit
import ServiceLifecycle

/// The long-running parts of one process (a service or the edge), each a `Service` in one
/// `ServiceGroup`.
///
/// They run side by side in the order below. Graceful shutdown (SIGTERM or SIGINT in a process,
/// the enclosing group's shutdown in a test) stops them in the reverse order, each only after the
/// one after it has finished, so nothing loses what it depends on while it still works:
///
/// 1. `front`, the RPC server or the edge's HTTPS server, stops first: it stops accepting,
///    sends GOAWAY and lets the calls in flight finish.
/// 2. `admin` (`/healthz`, `/readyz`, `/metrics`) answers until the front has drained, so a
///    drain can be watched; `/readyz` already fails during it (the health status is NOT_SERVING).
/// 3. `background`, in reverse of its own order: outbox relays and job workers finish or hand
///    back what they hold; the signing-key refresh and the password-hash pool stop once no call
///    can need them.
/// 4. `clients`: health checking of the RPC clients to other services stops and the clients
///    close, after every part above that calls through them (the front's handlers, relays).
/// 5. the Postgres pool (`run`'s `database`) closes last, after everything that queries it.
///
/// A part that fails shuts the others down gracefully in that order, then the run throws its
/// error (exit status 1). A part that returns before shutdown was asked for cancels the others and
/// the run throws `ServiceGroupError` (also 1): every part is meant to run until shutdown.
public struct ProcessServices: Sendable {
    public var clients: [RPCClient]
    public var background: [any Service]
    public var admin: any Service
    public var front: any Service

    public init(clients: [RPCClient], background: [any Service], admin: any Service, front: any Service) {
        self.clients = clients
        self.background = background
        self.admin = admin
        self.front = front
    }

    /// The parts in start order (the database pool is not one: `run` starts it first).
    private var parts: [ServiceGroupConfiguration.ServiceConfiguration] {
        var parts: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if !self.clients.isEmpty {
            parts.append(Self.part(ClientMaintenance(clients: self.clients), name: "clients"))
        }
        for service in self.background {
            parts.append(Self.part(service, name: "\(type(of: service))"))
        }
        parts.append(Self.part(self.admin, name: "admin"))
        parts.append(Self.part(self.front, name: "front"))
        return parts
    }

    private static func part(_ service: any Service, name: String) -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(
            service: service, successTerminationBehavior: .cancelGroup, failureTerminationBehavior: .gracefullyShutdownGroup,
            serviceName: name)
    }

    private static func configuration(
        _ parts: [ServiceGroupConfiguration.ServiceConfiguration], host: RuntimeHost
    ) -> ServiceGroupConfiguration {
        .init(services: parts, gracefulShutdownSignals: host.handlesSignals ? [.sigterm, .sigint] : [], logger: host.logger)
    }

    /// Runs the parts until graceful shutdown. `start` makes them: with `database` given, the pool
    /// runs first, in the same group, while `start` migrates and sets up (and a failure of
    /// `start` closes it); without one, `start` runs before the group.
    public static func run(
        database: PostgresClient?,
        host: RuntimeHost,
        start: () async throws -> ProcessServices
    ) async throws {
        guard let database else {
            let services = try await start()
            try await ServiceGroup(configuration: Self.configuration(services.parts, host: host)).run()
            return
        }
        let group = ServiceGroup(configuration: Self.configuration([Self.part(database, name: "database")], host: host))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let services: ProcessServices
            do {
                services = try await start()
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            // Appended parts stop before the ones already running: the database stays last.
            for part in services.parts {
                await group.addServiceUnlessShutdown(part)
            }
            try await tasks.waitForAll()
        }
    }
}
