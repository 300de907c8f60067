extension JobRunnerConfiguration {
    /// A service's runner, configured from its environment:
    ///
    /// - `PIXECOM_JOB_QUEUES`: the queues this replica works and their concurrency,
    ///   `name=count,...` (default: every queue of `kinds`, 10 each). A replica may leave a queue
    ///   out to leave its jobs to others.
    /// - `PIXECOM_JOB_LEASE_SECONDS` (default 30), `PIXECOM_JOB_DRAIN_SECONDS` (10),
    ///   `PIXECOM_JOB_POLL_MILLISECONDS` (1000), `PIXECOM_JOB_RETENTION_HOURS` (24).
    public init(environment: EnvironmentReader, kinds: JobKinds) throws {
        let variable = "PIXECOM_JOB_QUEUES"
        var queues: [String: Int] = [:]
        if let text = environment.string(variable), !text.isEmpty {
            for item in text.split(separator: ",") {
                let parts = item.split(separator: "=", omittingEmptySubsequences: false)
                let name = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard parts.count == 2, let count = Int(parts[1].trimmingCharacters(in: .whitespaces)), (1...10_000).contains(count)
                else {
                    throw ConfigurationError(variable: variable, problem: "\"\(item)\" is not name=concurrency (concurrency 1 to 10000)")
                }
                do {
                    try Jobs.checkName(name, field: "queue")
                } catch let error as JobQueueError {
                    throw ConfigurationError(variable: variable, problem: error.problem)
                }
                guard queues[name] == nil else { throw ConfigurationError(variable: variable, problem: "queue \(name) is named twice") }
                queues[name] = count
            }
        } else {
            for queue in kinds.queues { queues[queue] = 10 }
        }
        self.init(queues: queues)
        self.lease = .seconds(try environment.int("PIXECOM_JOB_LEASE_SECONDS", default: 30, range: 3...3600))
        self.drainTimeout = .seconds(try environment.int("PIXECOM_JOB_DRAIN_SECONDS", default: 10, range: 0...3600))
        self.pollInterval = .milliseconds(try environment.int("PIXECOM_JOB_POLL_MILLISECONDS", default: 1000, range: 10...60_000))
        self.retention = .seconds(3600 * (try environment.int("PIXECOM_JOB_RETENTION_HOURS", default: 24, range: 1...24 * 365)))
    }
}
