/// The echoed payload did not have the size that was sent.
public struct EchoPayloadMismatch: Error, CustomStringConvertible {
    public let sent: Int
    public let received: Int

    public init(sent: Int, received: Int) {
        self.sent = sent
        self.received = received
    }

    public var description: String { "sent \(self.sent) payload bytes but \(self.received) came back" }
}
