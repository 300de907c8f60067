/// One measured configuration: unary Echo calls of one payload size with a fixed number of calls
/// in flight over one connection.
public struct Scenario: Sendable, Hashable {
    /// Bytes in the request's `payload` field (echoed back in the response).
    public let payloadSize: Int
    /// Calls kept in flight at every moment: one worker task per call, each calling again as
    /// soon as its previous call returned.
    public let inFlight: Int

    public init(payloadSize: Int, inFlight: Int) {
        self.payloadSize = payloadSize
        self.inFlight = inFlight
    }

    /// The payload sizes of the standard run: 0 B, 256 B and 16 KiB.
    public static let standardPayloadSizes = [0, 256, 16 * 1024]
    /// The concurrency levels of the standard run.
    public static let standardInFlight = [1, 64, 1024]

    /// The scenario the headline targets are defined on.
    public static let headline = Scenario(payloadSize: 256, inFlight: 64)
    /// The scenario the single-call latency target is defined on.
    public static let singleCall = Scenario(payloadSize: 256, inFlight: 1)

    /// Every combination of the given sizes and concurrency levels, sizes outermost.
    public static func grid(payloadSizes: [Int], inFlight: [Int]) -> [Scenario] {
        payloadSizes.flatMap { size in inFlight.map { Scenario(payloadSize: size, inFlight: $0) } }
    }

    /// E.g. `256 B`, `16 KiB`.
    public var payloadLabel: String { Format.bytes(self.payloadSize) }

    /// E.g. `256 B x 64`.
    public var label: String { "\(self.payloadLabel) x \(self.inFlight)" }
}
