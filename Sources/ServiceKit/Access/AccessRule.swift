/// Who may call one RPC method.
public enum AccessRule: Sendable, Hashable {
    /// Anybody who reaches the service over mutual TLS: the methods that hand out tokens.
    case anyone
    /// A seller's access token whose role is at least this one.
    case role(Role)
    /// Only these services, proven by their client certificates (e.g. `orders`); no token.
    case services(Set<String>)
}

/// One service's table of who may call what: every method the service serves maps to the
/// lowest role allowed (or to `anyone`, or to internal callers). It is the single place a
/// service's authorization is decided; `AccessControlInterceptor` enforces it before any
/// handler runs, and a method missing from the table is refused to everybody (fail closed).
public struct AccessPolicy: Sendable {
    public let rules: [String: AccessRule]
    /// The methods a token with a narrow API-key scope may call, by method: a scoped token
    /// reaches only the methods that name its scope.
    public let keyScopes: [String: Set<String>]

    public init(_ rules: [String: AccessRule], keyScopes: [String: Set<String>] = [:]) {
        self.rules = rules
        self.keyScopes = keyScopes
    }

    /// Whether a token limited to `scope` may call `method`.
    public func admits(scope: String, to method: String) -> Bool {
        self.keyScopes[method]?.contains(scope) ?? false
    }

    /// The health service every RPC server answers: open to every mutual-TLS peer, since load
    /// balancers and clients probe it without a token.
    public static let healthServicePrefix = "pixecom.health.v1.Health/"

    /// The rule for `method`; nil when the table has none.
    public func rule(for method: String) -> AccessRule? {
        if let rule = self.rules[method] { return rule }
        return method.hasPrefix(Self.healthServicePrefix) ? .anyone : nil
    }

    /// Methods in `served` that the table does not cover: a service refuses to start with any.
    public func uncovered(_ served: [String]) -> [String] {
        served.filter { self.rule(for: $0) == nil }.sorted()
    }
}
