import Foundation
import Testing

/// compose/compose.yaml is valid against the Compose Specification schema and consistent
/// (services, dependencies, volumes, secrets, the variables each service needs). No Docker engine
/// runs here, so this is how the file is checked.
@Suite struct ComposeFileTests {
    @Test func composeFileFollowsTheComposeSpecification() throws {
        let python = ProcessInfo.processInfo.environment["PIXECOM_PYTHON"] ?? "/usr/bin/python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "Tests/compose-check/check_compose.py"]
        process.currentDirectoryURL = TestEnvironment.packageRoot
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "compose check failed:\n\(output)")
        #expect(output.contains("compose ok"))
    }
}
