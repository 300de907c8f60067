import EchoBenchmarkCore
import NIOSSL

/// The mutual TLS 1.3 settings of the raw NIO echo, the same as RPCKit's (minus ALPN).
enum RawTLS {
    /// Presents `stats` and requires a client certificate signed by the CA.
    static func serverContext(_ certificates: CertificateFiles) throws -> NIOSSLContext {
        let identity = CertificateFiles.serverIdentity
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificatePath(for: identity))
                .map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.privateKeyPath(for: identity), format: .pem))
        )
        configuration.minimumTLSVersion = .tlsv13
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caPath))
        configuration.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: configuration)
    }

    /// Presents `orders` and verifies the server against the CA and `stats.pixecom.internal`.
    static func clientContext(_ certificates: CertificateFiles) throws -> NIOSSLContext {
        let identity = CertificateFiles.clientIdentity
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificates.certificatePath(for: identity))
            .map { .certificate($0) }
        configuration.privateKey = .privateKey(
            try NIOSSLPrivateKey(file: certificates.privateKeyPath(for: identity), format: .pem)
        )
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caPath))
        configuration.certificateVerification = .fullVerification
        return try NIOSSLContext(configuration: configuration)
    }
}
