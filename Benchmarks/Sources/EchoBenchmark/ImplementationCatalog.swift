import EchoBenchmarkCore
import GRPCEcho
import RPCKitEcho
import RawNIOEcho

/// Maps each `Implementation` to its server and client.
enum ImplementationCatalog {
    static func startServer(
        _ implementation: Implementation,
        certificates: CertificateFiles,
        maxConcurrentCalls: Int
    ) async throws -> any EchoServer {
        switch implementation {
        case .rpckit:
            try await RPCKitEchoServer.bind(certificates: certificates, maxConcurrentCalls: maxConcurrentCalls)
        case .grpc:
            try await GRPCEchoServer.start(certificates: certificates)
        case .rawNIO:
            try await RawEchoServer.bind(certificates: certificates)
        }
    }

    static func connect(
        _ implementation: Implementation,
        port: Int,
        payloadSize: Int,
        certificates: CertificateFiles
    ) async throws -> any EchoCaller {
        switch implementation {
        case .rpckit:
            try RPCKitEchoCaller(port: port, payloadSize: payloadSize, certificates: certificates)
        case .grpc:
            try GRPCEchoCaller(port: port, payloadSize: payloadSize, certificates: certificates)
        case .rawNIO:
            try await RawEchoCaller.connect(port: port, payloadSize: payloadSize, certificates: certificates)
        }
    }
}
