import Logging

/// The logger handed to RPCKit: `.error` level, so that logging does not dominate the measurement.
/// (In production RPCKit writes one info line per call.)
enum BenchmarkLogger {
    static func make(label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .error
        return logger
    }
}
