/// One client connection of an implementation under test, set up for one payload size.
///
/// The load generator calls `echo()` from many tasks at once; every call travels over the same
/// single connection.
public protocol EchoCaller: Sendable {
    /// Makes one Echo call with the prepared payload and returns once the echoed payload arrived.
    /// Throws when the call fails or the echoed payload has the wrong size.
    func echo() async throws

    /// Closes the connection. No call is made afterwards.
    func close() async
}
