import RPCKit
import ServiceLifecycle

/// Runs the health checking and DNS re-resolution of a process's RPC clients until graceful
/// shutdown, then closes them.
public struct ClientMaintenance: Service {
    let clients: [RPCClient]

    public init(clients: [RPCClient]) {
        self.clients = clients
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for client in self.clients {
                group.addTask {
                    try? await cancelWhenGracefulShutdown { try await client.run() }
                }
            }
        }
        for client in self.clients { await client.close() }
    }
}
