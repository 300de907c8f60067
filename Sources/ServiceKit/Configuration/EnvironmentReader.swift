import Foundation
import RPCKit

/// Reads and validates configuration from environment variables, once, at start.
///
/// Every failure is a `ConfigurationError` naming the variable. Secrets may be given directly or
/// as a file path in `<NAME>_FILE`.
public struct EnvironmentReader: Sendable {
    private let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The raw value; empty strings count as unset.
    public func string(_ name: String) -> String? {
        guard let value = self.values[name], !value.isEmpty else { return nil }
        return value
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        self.string(name) ?? defaultValue
    }

    public func required(_ name: String) throws -> String {
        guard let value = self.string(name) else {
            throw ConfigurationError(variable: name, problem: "is required but not set")
        }
        return value
    }

    public func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = self.string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                variable: name,
                problem: "must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\""
            )
        }
        return value
    }

    public func port(_ name: String, default defaultValue: Int) throws -> Int {
        try self.int(name, default: defaultValue, range: 0...65535)
    }

    /// A comma-separated `host:port` list.
    public func endpoints(_ name: String) throws -> [Endpoint] {
        let text = try self.required(name)
        guard let endpoints = Endpoint.list(text) else {
            throw ConfigurationError(variable: name, problem: "must be a comma-separated list of host:port, got \"\(text)\"")
        }
        return endpoints
    }

    /// A readable file path.
    public func file(_ name: String) throws -> String {
        let path = try self.required(name)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(variable: name, problem: "file \"\(path)\" does not exist or is not readable")
        }
        return path
    }

    /// A secret from `<name>` or from the file named by `<name>_FILE`; at least `minimumLength`
    /// characters.
    public func secret(_ name: String, minimumLength: Int) throws -> String {
        var value = self.string(name)
        if value == nil, let path = self.string(name + "_FILE") {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(variable: name + "_FILE", problem: "file \"\(path)\" is not readable")
            }
            value = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let value else {
            throw ConfigurationError(variable: name, problem: "is required (or \(name)_FILE) but not set")
        }
        guard value.count >= minimumLength else {
            throw ConfigurationError(variable: name, problem: "must be at least \(minimumLength) characters")
        }
        return value
    }
}
