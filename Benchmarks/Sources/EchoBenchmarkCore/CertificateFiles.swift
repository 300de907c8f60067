/// The certificates made by `scripts/make-certs.sh DIR`, and which identity each side uses.
///
/// Every implementation runs mutual TLS 1.3 with the same CA: the server is `stats`
/// (`stats.pixecom.internal`), the client is `orders`.
public struct CertificateFiles: Sendable {
    /// The identity the server presents.
    public static let serverIdentity = "stats"
    /// The identity the client presents.
    public static let clientIdentity = "orders"
    /// The name the client verifies in the server certificate.
    public static let serverHostname = "stats.pixecom.internal"

    /// The folder holding `ca.pem` and `<name>.pem` / `<name>.key`.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The internal CA, trusted by both sides.
    public var caPath: String { "\(self.directory)/ca.pem" }

    public func certificatePath(for identity: String) -> String { "\(self.directory)/\(identity).pem" }

    public func privateKeyPath(for identity: String) -> String { "\(self.directory)/\(identity).key" }
}
