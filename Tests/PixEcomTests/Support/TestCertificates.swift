import Foundation
import RPCKit

/// Certificates made by scripts/make-certs.sh (the same script the run command uses): an internal
/// CA and one certificate per service, in a temporary directory.
struct TestCertificates: Sendable {
    let directory: URL

    /// Makes a fresh CA and certificates.
    static func make() throws -> TestCertificates {
        let directory = try TestEnvironment.temporaryDirectory("pixecom-certs")
        try run(TestEnvironment.packageRoot.appendingPathComponent("scripts/make-certs.sh").path, [directory.path])
        return TestCertificates(directory: directory)
    }

    /// One CA for the whole test process (each call to `make` creates an unrelated CA).
    static let shared: Result<TestCertificates, any Error> = Result { try make() }

    func path(_ name: String) -> String { self.directory.appendingPathComponent(name).path }

    /// The mutual-TLS identity of a service (auth, campaign, stats, orders, edge).
    func files(for service: String) -> TLSFiles {
        TLSFiles(caPath: self.path("ca.pem"), certificatePath: self.path("\(service).pem"), privateKeyPath: self.path("\(service).key"))
    }
}

/// Runs a program to completion; throws with its output when it fails.
func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TestSetupError("\(executable) failed (\(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
    }
}
