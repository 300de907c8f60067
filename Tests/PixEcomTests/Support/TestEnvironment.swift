import Foundation
import Testing

/// Locations and settings shared by the tests.
enum TestEnvironment {
    /// The package root, from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `swift build` put the executables (`PIXECOM_BIN_DIR`, set by scripts/test.sh).
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["PIXECOM_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    /// The superuser URL of the test Postgres (`PIXECOM_TEST_DATABASE_URL`, set by scripts/test.sh).
    static func adminDatabaseURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PIXECOM_TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestSetupError("PIXECOM_TEST_DATABASE_URL is not set: run the suite with scripts/test.sh, which starts Postgres")
        }
        return url
    }

    /// A new empty temporary directory.
    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
