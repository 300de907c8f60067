/// One replica's address.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (or `[v6]:port`). Returns nil when malformed.
    public init?(_ text: some StringProtocol) {
        let trimmed = trimSpaces(text)
        guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    /// Parses a comma-separated list of `host:port`. Returns nil when any entry is malformed.
    public static func list(_ text: String) -> [Endpoint]? {
        let parts = text.split(separator: ",").map { trimSpaces($0) }.filter { !$0.isEmpty }
        var endpoints: [Endpoint] = []
        for part in parts {
            guard let endpoint = Endpoint(part) else { return nil }
            endpoints.append(endpoint)
        }
        return endpoints.isEmpty ? nil : endpoints
    }

    public var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
}

private func trimSpaces(_ text: some StringProtocol) -> String {
    var view = Substring(text)
    while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
    while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
    return String(view)
}
