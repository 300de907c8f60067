import RPCKit

/// Settings every service reads at start. Variables are documented in docs/OPERATIONS.md.
public struct ServiceConfiguration: Sendable {
    public enum Mode: String, Sendable {
        case development
        case production
    }

    public var mode: Mode
    public var logLevel: String
    /// `PIXECOM_RPC_HOST` / `PIXECOM_RPC_PORT` (0 picks a free port).
    public var rpcHost: String
    public var rpcPort: Int
    /// `PIXECOM_ADMIN_PORT`: plain HTTP with /healthz, /readyz, /metrics (0 picks a free port).
    public var adminHost: String
    public var adminPort: Int
    /// `PIXECOM_DATABASE_URL`, e.g. postgres://user:pass@127.0.0.1:5432/db: the role the service
    /// runs as. It must not own the tables (row-level security binds it) and gets its table
    /// privileges from the migrations' owner.
    public var databaseURL: String?
    /// `PIXECOM_DATABASE_OWNER_URL`: the role that owns the database and its tables, used only to
    /// apply migrations and grant the runtime role its privileges.
    public var databaseOwnerURL: String?
    /// `PIXECOM_TLS_CA`, `PIXECOM_TLS_CERT`, `PIXECOM_TLS_KEY`.
    public var tls: TLSFiles
    /// `PIXECOM_READY_FILE`: written with the bound ports once the service listens.
    public var readyFile: String?

    /// Reads the common settings. `needsDatabase` makes `PIXECOM_DATABASE_URL` required.
    public init(environment: EnvironmentReader, defaultRPCPort: Int, defaultAdminPort: Int, needsDatabase: Bool) throws {
        let modeText = environment.string("PIXECOM_MODE", default: "development")
        guard let mode = Mode(rawValue: modeText) else {
            throw ConfigurationError(variable: "PIXECOM_MODE", problem: "must be development or production, got \"\(modeText)\"")
        }
        self.mode = mode
        self.logLevel = environment.string("PIXECOM_LOG_LEVEL", default: "info")
        self.rpcHost = environment.string("PIXECOM_RPC_HOST", default: "127.0.0.1")
        self.rpcPort = try environment.port("PIXECOM_RPC_PORT", default: defaultRPCPort)
        self.adminHost = environment.string("PIXECOM_ADMIN_HOST", default: self.rpcHost)
        self.adminPort = try environment.port("PIXECOM_ADMIN_PORT", default: defaultAdminPort)
        self.databaseURL = needsDatabase ? try environment.required("PIXECOM_DATABASE_URL") : nil
        self.databaseOwnerURL = needsDatabase ? try environment.required("PIXECOM_DATABASE_OWNER_URL") : nil
        if let url = self.databaseURL, let ownerURL = self.databaseOwnerURL {
            let runtime = try DatabaseURL(url, variable: "PIXECOM_DATABASE_URL")
            let owner = try DatabaseURL(ownerURL, variable: "PIXECOM_DATABASE_OWNER_URL")
            guard runtime.username != owner.username else {
                throw ConfigurationError(
                    variable: "PIXECOM_DATABASE_URL",
                    problem: "must name another role than PIXECOM_DATABASE_OWNER_URL: the service must not run as its tables' owner"
                )
            }
            guard runtime.username.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ConfigurationError(variable: "PIXECOM_DATABASE_URL", problem: "the role name may hold only letters, digits and _")
            }
        }
        self.tls = TLSFiles(
            caPath: try environment.file("PIXECOM_TLS_CA"),
            certificatePath: try environment.file("PIXECOM_TLS_CERT"),
            privateKeyPath: try environment.file("PIXECOM_TLS_KEY")
        )
        self.readyFile = environment.string("PIXECOM_READY_FILE")
    }
}
