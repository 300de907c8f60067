import Foundation
import Logging
import NIOConcurrencyHelpers

/// Writes one JSON object per line to standard output (or to `write`): time, level, service,
/// message and every metadata entry (`request.id`, `seller.id`, `rpc.method`, ...).
///
/// Thread-safe: lines from concurrent tasks never interleave on standard output.
public struct JSONLogHandler: LogHandler {
    private static let output = NIOLockedValueBox(FileHandle.standardOutput)

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let write: @Sendable (Data) -> Void

    /// `write` gets each line with its newline; by default it goes to standard output. A test
    /// running services in its own process keeps each service's lines apart this way.
    public init(label: String, level: Logger.Level, write: (@Sendable (Data) -> Void)? = nil) {
        self.label = label
        self.logLevel = level
        self.write = write ?? { line in Self.output.withLockedValue { $0.write(line) } }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": ISO8601DateFormatter.logTimestamp.string(from: Date()),
            "level": event.level.rawValue,
            "service": self.label,
            "msg": event.message.description,
        ]
        let merged = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged {
            object[key] = Self.jsonValue(value)
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        self.write(line)
    }

    private static func jsonValue(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(jsonValue)
        case .dictionary(let dictionary): dictionary.mapValues(jsonValue)
        }
    }
}

extension ISO8601DateFormatter {
    fileprivate nonisolated(unsafe) static let logTimestamp: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
