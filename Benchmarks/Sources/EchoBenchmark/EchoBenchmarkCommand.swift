import ArgumentParser

/// The benchmark executable: `run` measures everything (the default), `serve` is the server child
/// process that `run` starts for each implementation.
@main
struct EchoBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "EchoBenchmark",
        abstract: "Measures unary Echo over RPCKit, grpc-swift-2 and a raw NIO TLS echo, side by side.",
        subcommands: [RunCommand.self, ServeCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
