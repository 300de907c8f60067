import Foundation
import PixEcomProtos
import RPCKit

/// `pixecom.testing.v1.EchoService`: a service for protocol tests, the C conformance client and
/// benchmarks. Never registered by a production service.
public struct EchoService: Sendable {
    public static let name = "pixecom.testing.v1.EchoService"
    public static let echo = "\(name)/Echo"
    public static let expand = "\(name)/Expand"
    public static let fail = "\(name)/Fail"
    public static let sleep = "\(name)/Sleep"
    public static let inspect = "\(name)/Inspect"

    public typealias Response = Pixecom_Testing_V1_EchoResponse

    /// What a handler reports, for tests that check the server side of a call.
    public enum Event: Sendable {
        case started(ServerContext)
        /// The handler stopped because its call ended first (cancellation, deadline, connection).
        case interrupted
        /// An `Expand` handler wrote one message.
        case streamed
        /// An `Expand` handler returned or threw.
        case streamEnded
    }

    private let observe: @Sendable (Event) -> Void

    public init(observe: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.observe = observe
    }

    public func register(on router: inout RPCRouter) {
        let observe = self.observe
        router.unary(Self.echo, Pixecom_Testing_V1_EchoRequest.self) { request, context in
            observe(.started(context))
            var response = Response()
            response.payload = request.payload
            return response
        }
        router.unary(Self.sleep, Pixecom_Testing_V1_SleepRequest.self) { request, context in
            observe(.started(context))
            do {
                try await Task.sleep(for: .microseconds(Int64(clamping: request.micros)))
            } catch {
                observe(.interrupted)
                throw error
            }
            return Response()
        }
        router.unary(Self.fail, Pixecom_Testing_V1_FailRequest.self) { request, context -> Response in
            observe(.started(context))
            // Any int32 is passed on; one outside the canonical codes is UNKNOWN, as it would be
            // read from the wire (PROTOCOL.md §4.7).
            guard request.code != 0 else { return Response() }
            let code = RPCError.Code(wireValue: request.code)
            let violations = request.field.isEmpty ? [] : [RPCError.FieldViolation(field: request.field, description: request.message)]
            throw RPCError(code, request.message, fieldViolations: violations)
        }
        router.unary(Self.inspect, Pixecom_Testing_V1_InspectRequest.self) { _, context in
            observe(.started(context))
            var response = Pixecom_Testing_V1_InspectResponse()
            response.peerService = context.peerService ?? ""
            response.requestID = context.requestID
            response.metadata = context.metadata
            if let remaining = context.remainingTime {
                response.deadlineGiven = true
                let (seconds, attoseconds) = max(remaining, .zero).components
                response.remainingMicros = UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
            }
            return response
        }
        router.serverStreaming(Self.expand, Pixecom_Testing_V1_ExpandRequest.self, Response.self) { request, writer, context in
            observe(.started(context))
            defer { observe(.streamEnded) }
            do {
                for sequence in 0..<UInt64(request.count) {
                    if request.intervalMicros > 0 {
                        try await Task.sleep(for: .microseconds(Int64(request.intervalMicros)))
                    }
                    var response = Response()
                    response.payload = request.payload
                    response.sequence = sequence
                    try await writer.write(response)
                    observe(.streamed)
                }
            } catch {
                observe(.interrupted)
                throw error
            }
        }
    }
}
