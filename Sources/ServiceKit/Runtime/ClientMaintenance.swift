import RPCKit
import ServiceLifecycle

/// Runs the health checking and DNS re-resolution of a process's RPC clients until graceful
/// shutdown, then (when `closesClients`) closes them. Closing must wait until whatever uses the
/// clients has drained: put this service before the servers in a `ServiceGroup` (which shuts
/// services down in reverse order), or close the clients yourself after the servers stopped.
public struct ClientMaintenance: Service {
    let clients: [RPCClient]
    let closesClients: Bool

    public init(clients: [RPCClient], closesClients: Bool = true) {
        self.clients = clients
        self.closesClients = closesClients
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for client in self.clients {
                group.addTask {
                    try? await cancelWhenGracefulShutdown { try await client.run() }
                }
            }
        }
        if self.closesClients {
            for client in self.clients { await client.close() }
        }
    }
}
