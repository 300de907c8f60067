// swift-tools-version:6.2
import PackageDescription

// The PixEcom RPC benchmark: its own package so that the root package (and CI) never builds gRPC.
// Build and run it with Benchmarks/run.sh; see Benchmarks/README.md.
let package = Package(
    name: "PixEcomBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "PixEcom", path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // Its MallocInterposerSwift library is built on its own and preloaded by run.sh; only the
        // tests link it.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Counts write(2)/writev(2) calls per file descriptor by wrapping them in the executable.
        .target(name: "SyscallCounter"),
        // What every implementation plugs into: the caller/server protocols, the load generator,
        // the measurements, the tables and the report.
        .target(
            name: "EchoBenchmarkCore",
            dependencies: [
                .product(name: "Histogram", package: "hdrhistogram-swift")
            ]
        ),
        // 1. RPCKit, this project's RPC runtime.
        .target(
            name: "RPCKitEcho",
            dependencies: [
                "EchoBenchmarkCore",
                .product(name: "RPCKit", package: "PixEcom"),
                .product(name: "PixEcomProtos", package: "PixEcom"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // 2. grpc-swift-2 over its HTTP/2 NIO transport, with hand-written service glue.
        .target(
            name: "GRPCEcho",
            dependencies: [
                "EchoBenchmarkCore",
                .product(name: "PixEcomProtos", package: "PixEcom"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // 3. The ceiling: length-prefixed frames echoed over plain SwiftNIO + NIOSSL.
        .target(
            name: "RawNIOEcho",
            dependencies: [
                "EchoBenchmarkCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "EchoBenchmark",
            dependencies: [
                "EchoBenchmarkCore",
                "RPCKitEcho",
                "GRPCEcho",
                "RawNIOEcho",
                "SyscallCounter",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The edge benchmark's reference: a bare Hummingbird HTTPS handler (Benchmarks/edge-run.sh).
        .executableTarget(
            name: "BareJSONServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // What checking an access token adds to a unary RPC (Benchmarks/edge-run.sh).
        .executableTarget(
            name: "TokenCostBenchmark",
            dependencies: [
                .product(name: "RPCKit", package: "PixEcom"),
                .product(name: "ServiceKit", package: "PixEcom"),
                .product(name: "EchoService", package: "PixEcom"),
                .product(name: "PixEcomProtos", package: "PixEcom"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "EchoBenchmarkCoreTests",
            dependencies: [
                "EchoBenchmarkCore",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
