/// The three stacks measured side by side.
public enum Implementation: String, CaseIterable, Sendable, Hashable {
    /// This project's RPC runtime: length-prefixed protobuf frames over mutual TLS 1.3.
    case rpckit
    /// grpc-swift-2 with the grpc-swift-nio-transport HTTP/2 transport over mutual TLS.
    case grpc
    /// The ceiling: length-prefixed frames echoed by plain SwiftNIO + NIOSSL handlers.
    case rawNIO = "raw-nio"

    /// The name used in tables.
    public var displayName: String {
        switch self {
        case .rpckit: "RPCKit"
        case .grpc: "grpc-swift-2"
        case .rawNIO: "raw NIO"
        }
    }
}
