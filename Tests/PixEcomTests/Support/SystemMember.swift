/// One part of a running `PixEcomSystem` (a service or the edge), whether it runs as a process of
/// its own (`ServiceProcess`) or inside the test process (`InProcessService`).
protocol SystemMember: AnyObject, Sendable {
    var name: String { get }
    /// The settings it was started with.
    var environment: [String: String] { get }
    /// Its bound ports by name (`rpc_port`, `http_port`, `admin_port`), once started.
    var ports: [String: Int] { get }
    /// Starts it and waits until every listener is bound.
    func start(timeout: Duration) async throws
    /// Ends it at once: SIGKILL for a process; in the test process, where nothing can die
    /// abruptly, a graceful shutdown.
    func kill() async
    /// Graceful shutdown; returns the exit status (for a member in the test process, the status
    /// its executable would have exited with).
    @discardableResult
    func terminate() async -> Int32
    /// The last lines it logged, for failure messages.
    func logTail(lines: Int) -> String
}

extension SystemMember {
    var rpcPort: Int { self.ports["rpc_port"] ?? 0 }
    var httpPort: Int { self.ports["http_port"] ?? 0 }
    var adminPort: Int { self.ports["admin_port"] ?? 0 }
    var address: String { "127.0.0.1:\(self.rpcPort)" }

    /// Up to 5 minutes: when the whole suite starts its systems at once on a few cores, each
    /// service's migrations (OrderService has twelve) run at a fraction of their usual speed.
    func start() async throws { try await self.start(timeout: .seconds(300)) }
    func logTail() -> String { self.logTail(lines: 40) }
}
