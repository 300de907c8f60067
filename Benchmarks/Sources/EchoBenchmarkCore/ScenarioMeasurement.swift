/// What was measured for one implementation in one scenario.
public struct ScenarioMeasurement: Sendable {
    public let implementation: Implementation
    public let scenario: Scenario
    /// Calls completed in the timing window.
    public let timedCalls: Int
    /// The length of the timing window.
    public let timedSeconds: Double
    /// Latency percentiles of the timed calls, in nanoseconds.
    public let p50: UInt64
    public let p99: UInt64
    public let p999: UInt64
    /// Allocations per call in the allocation window; nil when the malloc interposer was not loaded.
    public let clientAllocationsPerCall: Double?
    public let serverAllocationsPerCall: Double?
    /// Write syscalls of the server process per response in the timing window, as counted by the
    /// kernel (`syscw` of /proc/PID/io: every write/writev, eventfd wake-ups included).
    public let serverWriteSyscallsPerResponse: Double?
    /// Of those, write(2)/writev(2) calls on socket descriptors.
    public let serverSocketWritesPerResponse: Double?
    /// CPU time per call in the timing window, in microseconds, of the client process and of the
    /// server process (nil when /proc could not be read). Less sensitive to a busy machine than QPS.
    public let clientCPUPerCall: Double?
    public let serverCPUPerCall: Double?
    /// CPU used by other processes on the machine during the timing window, in cores (0.25 = a
    /// quarter of one core); nil when it could not be read. High values mean a disturbed measurement.
    public let otherProcessesCores: Double?
    /// Calls that failed during the timing and allocation windows.
    public let failedCalls: Int
    /// The first failure seen, if any.
    public let firstError: String?

    public init(
        implementation: Implementation,
        scenario: Scenario,
        timedCalls: Int,
        timedSeconds: Double,
        p50: UInt64,
        p99: UInt64,
        p999: UInt64,
        clientAllocationsPerCall: Double?,
        serverAllocationsPerCall: Double?,
        serverWriteSyscallsPerResponse: Double?,
        serverSocketWritesPerResponse: Double?,
        clientCPUPerCall: Double?,
        serverCPUPerCall: Double?,
        otherProcessesCores: Double?,
        failedCalls: Int,
        firstError: String?
    ) {
        self.implementation = implementation
        self.scenario = scenario
        self.timedCalls = timedCalls
        self.timedSeconds = timedSeconds
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.clientAllocationsPerCall = clientAllocationsPerCall
        self.serverAllocationsPerCall = serverAllocationsPerCall
        self.serverWriteSyscallsPerResponse = serverWriteSyscallsPerResponse
        self.serverSocketWritesPerResponse = serverSocketWritesPerResponse
        self.clientCPUPerCall = clientCPUPerCall
        self.serverCPUPerCall = serverCPUPerCall
        self.otherProcessesCores = otherProcessesCores
        self.failedCalls = failedCalls
        self.firstError = firstError
    }

    /// Completed calls per second in the timing window.
    public var callsPerSecond: Double {
        self.timedSeconds > 0 ? Double(self.timedCalls) / self.timedSeconds : 0
    }

    /// CPU time per call of client and server together, in microseconds.
    public var cpuPerCall: Double? {
        guard let client = self.clientCPUPerCall, let server = self.serverCPUPerCall else { return nil }
        return client + server
    }

    /// Allocations per call of client and server together.
    public var allocationsPerCall: Double? {
        guard let client = self.clientAllocationsPerCall, let server = self.serverAllocationsPerCall else { return nil }
        return client + server
    }
}
