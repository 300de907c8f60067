/// A bound Echo server of an implementation under test.
public protocol EchoServer: Sendable {
    /// The port the server listens on (127.0.0.1).
    var port: Int { get }

    /// Serves until the process ends.
    func run() async throws
}
