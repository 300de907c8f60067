public import NIOSSL

/// PEM files for mutual TLS: the internal CA that signs every service, and this process's own
/// certificate and key. The certificate names the service (`<name>.pixecom.internal`).
public struct TLSFiles: Sendable, Hashable {
    public var caPath: String
    public var certificatePath: String
    public var privateKeyPath: String

    public init(caPath: String, certificatePath: String, privateKeyPath: String) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// TLS settings of the RPC protocol: TLS 1.3 only, mutual authentication, ALPN naming the version.
public enum RPCTLS {
    /// The ALPN protocol id of this protocol version. A peer that does not offer it is refused.
    public static let alpn = "pixrpc/1"
    /// Service identities are DNS names under this domain in the certificate's subjectAltName.
    public static let identityDomain = ".pixecom.internal"

    /// Server side: requires a client certificate signed by the CA.
    public static func serverContext(_ files: TLSFiles) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
        )
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.caPath))
        configuration.certificateVerification = .noHostnameVerification
        configuration.applicationProtocols = [alpn]
        return try NIOSSLContext(configuration: configuration)
    }

    /// Client side: presents this service's certificate and verifies the server against the CA and
    /// its service name.
    public static func clientContext(_ files: TLSFiles) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.caPath))
        configuration.certificateVerification = .fullVerification
        configuration.applicationProtocols = [alpn]
        return try NIOSSLContext(configuration: configuration)
    }

    /// The service name a certificate proves: the first DNS subjectAltName under `identityDomain`,
    /// without the domain (`orders.pixecom.internal` -> `orders`).
    public static func serviceIdentity(of certificate: NIOSSLCertificate) -> String? {
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            let dns = String(decoding: name.contents, as: UTF8.self)
            if dns.hasSuffix(identityDomain) {
                return String(dns.dropLast(identityDomain.count))
            }
        }
        return nil
    }
}
