import ArgumentParser
import EchoBenchmarkCore
import Foundation

/// The server child process: binds one implementation's Echo server, reports its port on stdout
/// and then answers control commands on stdin (see `ServerControl`) until stdin closes.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve Echo with one implementation (started by `run`; talks over stdin/stdout)."
    )

    @Option(help: "rpckit, grpc or raw-nio.")
    var implementation: String

    @Option(help: "The folder made by scripts/make-certs.sh.")
    var certificates: String

    @Option(help: "RPCKit's maxConcurrentCallsPerConnection.")
    var maxConcurrentCalls = 4096

    func run() async throws {
        guard let implementation = Implementation(rawValue: self.implementation) else {
            throw ValidationError("unknown implementation \(self.implementation)")
        }
        // The interposer check resets the counters: do it before serving, never mid-window.
        _ = AllocationCounter.isInterposed
        let server = try await ImplementationCatalog.startServer(
            implementation,
            certificates: CertificateFiles(directory: self.certificates),
            maxConcurrentCalls: self.maxConcurrentCalls
        )
        ServerControl.reply("\(ServerControl.readyPrefix)\(server.port)")
        ServerControl.startAnsweringCommands()
        try await server.run()
    }
}
