import Foundation
import RPCKit
import ServiceKit

/// The Edge's settings, read once at start; every failure names its variable. Documented in
/// docs/OPERATIONS.md.
struct EdgeConfiguration: Sendable {
    var mode: ServiceConfiguration.Mode
    /// `PIXECOM_HTTP_HOST` / `PIXECOM_HTTP_PORT` (0 picks a free port): the HTTPS listener.
    var httpHost: String
    var httpPort: Int
    /// `PIXECOM_HTTP_TLS_CERT` / `PIXECOM_HTTP_TLS_KEY`: the browser-facing certificate.
    var httpCertificatePath: String
    var httpPrivateKeyPath: String
    /// `PIXECOM_ADMIN_HOST` / `PIXECOM_ADMIN_PORT`: /healthz, /readyz, /metrics over plain HTTP.
    var adminHost: String
    var adminPort: Int
    /// `PIXECOM_TLS_CA` / `_CERT` / `_KEY`: the Edge's mutual-TLS identity towards the services.
    var tls: TLSFiles
    /// Replica lists of the four services.
    var auth: [Endpoint]
    var campaign: [Endpoint]
    var stats: [Endpoint]
    var orders: [Endpoint]
    /// `PIXECOM_CORS_ORIGINS`: origins allowed to call the API from a browser (none by default).
    var corsOrigins: [String]
    /// `PIXECOM_HTTP_MAX_BODY_BYTES`: larger request bodies get 413 (default 1 MiB).
    var maxBodyBytes: Int
    /// Largest body of an asset upload (`POST /v1/assets`, `PUT /v1/asset-uploads/{id}`).
    var maxUploadBytes: Int
    /// `PIXECOM_HTTP_TIMEOUT_MS`: the deadline given to each RPC made for a request (default 10 s).
    var requestTimeout: Duration
    /// `PIXECOM_HTTP_IDLE_TIMEOUT_S`: a connection with no request in flight that sends nothing
    /// for this long is closed (default 60 s), so idle or stalled clients do not hold sockets.
    var idleTimeout: Duration
    /// Rate limits: `PIXECOM_RATE_AUTH_PER_MINUTE` (default 60) with bursts of
    /// `PIXECOM_RATE_AUTH_BURST` (20) per client address on the auth routes;
    /// `PIXECOM_RATE_SELLER_PER_MINUTE` (6000, 100 a second) with bursts of
    /// `PIXECOM_RATE_SELLER_BURST` (200) per seller elsewhere; on the public storefront routes
    /// also `PIXECOM_RATE_STOREFRONT_CLIENT_PER_MINUTE` (60) with bursts of
    /// `PIXECOM_RATE_STOREFRONT_CLIENT_BURST` (20) per sell page and client address, and
    /// `PIXECOM_RATE_STOREFRONT_PER_MINUTE` (12000, 200 a second) with bursts of
    /// `PIXECOM_RATE_STOREFRONT_BURST` (1000) per sell page.
    var rateLimits: RateLimiter.Configuration
    /// `PIXECOM_TRUSTED_PROXIES`: load balancers (addresses or CIDR ranges, comma-separated)
    /// whose `X-Forwarded-For` names the client; none by default.
    var trustedProxies: TrustedProxies
    /// `PIXECOM_READY_FILE`: `{"http_port":N,"admin_port":N}` once both listen.
    var readyFile: String?

    init(environment: EnvironmentReader) throws {
        let modeText = environment.string("PIXECOM_MODE", default: "development")
        guard let mode = ServiceConfiguration.Mode(rawValue: modeText) else {
            throw ConfigurationError(variable: "PIXECOM_MODE", problem: "must be development or production, got \"\(modeText)\"")
        }
        self.mode = mode
        self.httpHost = environment.string("PIXECOM_HTTP_HOST", default: "127.0.0.1")
        self.httpPort = try environment.port("PIXECOM_HTTP_PORT", default: 8443)
        self.httpCertificatePath = try environment.file("PIXECOM_HTTP_TLS_CERT")
        self.httpPrivateKeyPath = try environment.file("PIXECOM_HTTP_TLS_KEY")
        self.adminHost = environment.string("PIXECOM_ADMIN_HOST", default: self.httpHost)
        self.adminPort = try environment.port("PIXECOM_ADMIN_PORT", default: 9005)
        self.tls = TLSFiles(
            caPath: try environment.file("PIXECOM_TLS_CA"),
            certificatePath: try environment.file("PIXECOM_TLS_CERT"),
            privateKeyPath: try environment.file("PIXECOM_TLS_KEY")
        )
        self.auth = try environment.endpoints("PIXECOM_AUTH_ADDRESSES")
        self.campaign = try environment.endpoints("PIXECOM_CAMPAIGN_ADDRESSES")
        self.stats = try environment.endpoints("PIXECOM_STATS_ADDRESSES")
        self.orders = try environment.endpoints("PIXECOM_ORDERS_ADDRESSES")
        self.corsOrigins = try Self.origins(environment.string("PIXECOM_CORS_ORIGINS") ?? "")
        self.maxBodyBytes = try environment.int("PIXECOM_HTTP_MAX_BODY_BYTES", default: 1024 * 1024, range: 1024...(64 * 1024 * 1024))
        self.maxUploadBytes = try environment.int(
            "PIXECOM_HTTP_MAX_UPLOAD_BYTES", default: 32 * 1024 * 1024, range: (1024 * 1024)...(1024 * 1024 * 1024))
        self.requestTimeout = .milliseconds(try environment.int("PIXECOM_HTTP_TIMEOUT_MS", default: 10_000, range: 100...300_000))
        self.idleTimeout = .seconds(try environment.int("PIXECOM_HTTP_IDLE_TIMEOUT_S", default: 60, range: 1...3600))
        self.rateLimits = RateLimiter.Configuration(
            auth: .init(
                perSecond: Double(try environment.int("PIXECOM_RATE_AUTH_PER_MINUTE", default: 60, range: 1...1_000_000)) / 60,
                burst: Double(try environment.int("PIXECOM_RATE_AUTH_BURST", default: 20, range: 1...1_000_000))
            ),
            seller: .init(
                perSecond: Double(try environment.int("PIXECOM_RATE_SELLER_PER_MINUTE", default: 6000, range: 1...600_000_000)) / 60,
                burst: Double(try environment.int("PIXECOM_RATE_SELLER_BURST", default: 200, range: 1...10_000_000))
            ),
            storefrontClient: .init(
                perSecond: Double(try environment.int("PIXECOM_RATE_STOREFRONT_CLIENT_PER_MINUTE", default: 60, range: 1...600_000_000))
                    / 60,
                burst: Double(try environment.int("PIXECOM_RATE_STOREFRONT_CLIENT_BURST", default: 20, range: 1...10_000_000))
            ),
            storefront: .init(
                perSecond: Double(try environment.int("PIXECOM_RATE_STOREFRONT_PER_MINUTE", default: 12000, range: 1...600_000_000)) / 60,
                burst: Double(try environment.int("PIXECOM_RATE_STOREFRONT_BURST", default: 1000, range: 1...10_000_000))
            )
        )
        do {
            self.trustedProxies = try TrustedProxies.parse(environment.string("PIXECOM_TRUSTED_PROXIES") ?? "")
        } catch {
            throw ConfigurationError(
                variable: "PIXECOM_TRUSTED_PROXIES",
                problem: "\"\(error.entry)\" is not an IP address or a range such as 10.0.0.0/8 or 2001:db8::/32")
        }
        self.readyFile = environment.string("PIXECOM_READY_FILE")
    }

    /// `https://shop.example.com,http://localhost:3000`: exact origins, no wildcards, no paths.
    static func origins(_ text: String) throws -> [String] {
        let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for origin in origins {
            guard let url = URL(string: origin), let scheme = url.scheme, scheme == "https" || scheme == "http",
                url.host != nil, url.path.isEmpty, url.query == nil, !origin.hasSuffix("/")
            else {
                throw ConfigurationError(
                    variable: "PIXECOM_CORS_ORIGINS",
                    problem: "\"\(origin)\" is not an origin such as https://shop.example.com (scheme, host, optional port)"
                )
            }
        }
        return origins
    }
}
