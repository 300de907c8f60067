import Logging
import NIOConcurrencyHelpers

/// Collects the bound ports of a process's listeners; once all are known, writes the ready file
/// (`PIXECOM_READY_FILE`), logs `service.ready` and tells the host. Thread-safe: listeners bind
/// concurrently.
public final class ReadyPorts: Sendable {
    private let ports = NIOLockedValueBox<[String: Int]>([:])
    private let expected: Set<String>
    private let file: String?
    private let logger: Logger
    private let onReady: @Sendable ([String: Int]) -> Void

    /// `expected`: the names of the ports (`rpc_port`, `admin_port`...) that make it ready.
    public init(expected: Set<String>, file: String?, host: RuntimeHost) {
        self.expected = expected
        self.file = file
        self.logger = host.logger
        self.onReady = host.onReady
    }

    public func record(_ name: String, _ port: Int) {
        let complete = self.ports.withLockedValue { ports -> [String: Int]? in
            ports[name] = port
            return Set(ports.keys) == self.expected ? ports : nil
        }
        guard let complete else { return }
        if let file = self.file {
            do {
                try ServiceRuntime.writeReadyFile(file, complete)
            } catch {
                self.logger.error("ready_file.failed", metadata: ["error": "\(error)"])
            }
        }
        var metadata: Logger.Metadata = [:]
        for (name, port) in complete {
            // rpc_port -> rpc.port, the dotted metadata keys of every log line.
            metadata[name.replacing("_", with: ".")] = "\(port)"
        }
        self.logger.info("service.ready", metadata: metadata)
        self.onReady(complete)
    }
}
