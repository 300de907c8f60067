import Logging
import Prometheus

/// Where a service's runtime runs: a process of its own, or a test's process beside other
/// services. It gives the runtime its environment, logger and metrics registry, says whether
/// signals end the run, and learns the bound ports.
public struct RuntimeHost: Sendable {
    /// Where every setting is read from; never the process environment directly.
    public var environment: EnvironmentReader
    public var logger: Logger
    /// What the admin port's `/metrics` serves.
    public var metrics: PrometheusCollectorRegistry
    /// Whether SIGTERM and SIGINT start graceful shutdown. Only a process's own `main` traps
    /// them; in a test, graceful shutdown comes from the enclosing `ServiceGroup`.
    public var handlesSignals: Bool
    /// Called once, when every listener is bound, with the ports by name (`rpc_port`,
    /// `http_port`, `admin_port`): what the ready file holds.
    public var onReady: @Sendable ([String: Int]) -> Void

    /// A host inside an existing process: settings from `environment` only, logs to `logger`, a
    /// registry of its own, no signal handling.
    public init(
        environment: EnvironmentReader,
        logger: Logger,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        onReady: @escaping @Sendable ([String: Int]) -> Void = { _ in }
    ) {
        self.environment = environment
        self.logger = logger
        self.metrics = metrics
        self.handlesSignals = false
        self.onReady = onReady
    }

    /// The host of an executable's `main`: the process environment, JSON logs and Prometheus
    /// metrics bootstrapped for the process (`ServiceRuntime.bootstrap`), SIGTERM and SIGINT.
    public static func process(name: String) -> RuntimeHost {
        let environment = EnvironmentReader()
        let metrics = ServiceRuntime.bootstrap(name: name, environment: environment)
        var host = RuntimeHost(environment: environment, logger: Logger(label: name), metrics: metrics)
        host.handlesSignals = true
        return host
    }
}
