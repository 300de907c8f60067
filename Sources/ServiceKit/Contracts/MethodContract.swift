/// What a service's .proto says of one method beyond its messages: its
/// `(pixecom.options.v1.method)` options. The contract generator (`Sources/ContractGen`) writes one
/// per method into `ServiceKit/Generated`; the access tables, client retries and the edge read
/// them, so a method is described in one place, its .proto.
public struct MethodContract: Sendable, Hashable {
    /// Whether a client may send the method again after a failure that may have reached the server.
    public enum Idempotency: Sendable, Hashable {
        /// Retried only when the server says it did not process the call.
        case notIdempotent
        /// Safe to repeat: reads, status sets, upserts, events deduplicated by id.
        case idempotent
        /// Applied at most once per `idempotency-key`: retried like an idempotent method when a
        /// key is sent.
        case withKey
    }

    /// How the edge exposes the method: a verb, a path template whose `{field}` segments fill
    /// request fields, and the request field the JSON body fills (`*` the whole request, empty
    /// none).
    public struct HTTPBinding: Sendable, Hashable {
        public let verb: String
        public let path: String
        public let body: String

        public init(verb: String, path: String, body: String) {
            self.verb = verb
            self.path = path
            self.body = body
        }
    }

    /// `pixecom.auth.v1.AuthService/Register`
    public let name: String
    public let summary: String
    public let access: AccessRule
    public let idempotency: Idempotency
    /// The plan quota a successful call counts against.
    public let quota: String?
    /// Nil when the edge does not expose the method, or exposes it with a hand-written route.
    public let http: HTTPBinding?
    /// Why the edge serves the method with a hand-written route, when it does.
    public let manualRoute: String?
    /// API-key scopes narrower than READ and FULL (e.g. `ASSETS`) whose tokens may call it.
    public let keyScopes: Set<String>

    public init(
        name: String,
        summary: String,
        access: AccessRule,
        idempotency: Idempotency,
        quota: String? = nil,
        http: HTTPBinding? = nil,
        manualRoute: String? = nil,
        keyScopes: Set<String> = []
    ) {
        self.name = name
        self.summary = summary
        self.access = access
        self.idempotency = idempotency
        self.quota = quota
        self.http = http
        self.manualRoute = manualRoute
        self.keyScopes = keyScopes
    }
}

extension AccessPolicy {
    /// The table of a service's generated contracts.
    public init(_ contracts: [MethodContract]) {
        self.init(
            Dictionary(uniqueKeysWithValues: contracts.map { ($0.name, $0.access) }),
            keyScopes: Dictionary(uniqueKeysWithValues: contracts.filter { !$0.keyScopes.isEmpty }.map { ($0.name, $0.keyScopes) }))
    }
}
