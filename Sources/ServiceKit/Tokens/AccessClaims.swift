/// The claims of a PixEcom access token (a JWT signed by AuthService with Ed25519).
public struct AccessClaims: Codable, Sendable, Hashable {
    /// The user.
    public var sub: String
    /// The seller (tenant) the user acts for. The only source of the seller id in every service.
    public var sellerID: String
    /// OWNER, ADMIN, EDITOR or VIEWER.
    public var role: String
    public var plan: String
    public var iss: String
    public var aud: String
    /// Issued at and expiry, seconds since 1970.
    public var iat: Int64
    public var exp: Int64
    /// Unique token id.
    public var jti: String
    /// A narrow API-key scope (`ASSETS`) limiting the token to the methods whose contract names
    /// it; absent for sessions and READ or FULL keys, which the role alone limits.
    public var scope: String?

    public static let issuer = "pixecom-auth"
    public static let audience = "pixecom"
    /// Access tokens live 15 minutes.
    public static let lifetimeSeconds: Int64 = 900

    enum CodingKeys: String, CodingKey {
        case sub, role, plan, iss, aud, iat, exp, jti
        case sellerID = "sid"
        case scope = "scp"
    }

    public init(
        sub: String, sellerID: String, role: String, plan: String, iat: Int64, exp: Int64, jti: String, scope: String? = nil
    ) {
        self.sub = sub
        self.sellerID = sellerID
        self.role = role
        self.plan = plan
        self.iss = Self.issuer
        self.aud = Self.audience
        self.iat = iat
        self.exp = exp
        self.jti = jti
        self.scope = scope
    }
}

/// The public shape of PixEcom's API keys, `pxk_<public id>_<secret>`: AuthService mints them,
/// the edge recognises them in `Authorization: Bearer`.
public enum ApiKeyFormat {
    public static let prefix = "pxk_"
}
