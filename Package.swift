// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "PixEcom",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RPCKit", targets: ["RPCKit"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "PixEcomProtos", targets: ["PixEcomProtos"]),
        // The protocol's test service, for the benchmarks.
        .library(name: "EchoService", targets: ["EchoService"]),
        .executable(name: "AuthService", targets: ["AuthService"]),
        .executable(name: "CampaignService", targets: ["CampaignService"]),
        .executable(name: "StatsService", targets: ["StatsService"]),
        .executable(name: "OrderService", targets: ["OrderService"]),
        .executable(name: "Edge", targets: ["Edge"]),
        .executable(name: "EchoServer", targets: ["EchoServer"]),
        // A standalone job runner for the job queue's crash test and benchmark.
        .executable(name: "JobWorker", targets: ["JobWorker"]),
        // The operator's command for a service's job queue.
        .executable(name: "pixecom-jobs", targets: ["JobsCLI"]),
        .executable(name: "ContractGen", targets: ["ContractGen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // Swift code generated from Protos/ by scripts/generate-protos.sh (committed).
        .target(
            name: "PixEcomProtos",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // The RPC protocol without I/O: frames and their codec (over the transport's bytes,
        // `WireBytes`), status and errors, the connection and liveness state machines, load
        // balancing, retries, circuit breakers, deadlines, trace context, random ids. No NIO, no
        // SwiftProtobuf: RPCKit is its transport, as grpc-swift's transports are GRPCCore's.
        .target(
            name: "RPCCore",
            swiftSettings: strict
        ),
        // The RPC transport on NIO and TLS: channel handlers, connections, server, client,
        // interceptors. Re-exports RPCCore, so services import RPCKit alone.
        .target(
            name: "RPCKit",
            dependencies: [
                "RPCCore",
                "PixEcomProtos",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // What every service needs beyond RPC: configuration, Postgres, migrations, tokens,
        // outbox, admin endpoint, logging, lifecycle.
        .target(
            name: "ServiceKit",
            dependencies: [
                "RPCKit",
                "PixEcomProtos",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Jobs/Migrations")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "AuthService",
            dependencies: [
                "ServiceKit", "RPCKit", "PixEcomProtos",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CampaignService",
            dependencies: [
                "ServiceKit", "RPCKit", "PixEcomProtos",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "StatsService",
            dependencies: [
                "ServiceKit", "RPCKit", "PixEcomProtos",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "OrderService",
            dependencies: [
                "ServiceKit", "RPCKit", "PixEcomProtos",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The tracking provider's client (17TRACK).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Edge",
            dependencies: [
                "ServiceKit", "RPCKit", "PixEcomProtos",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Writes each service's contract (methods, access table, handler protocol, client) from
        // the method options in Protos/ into ServiceKit/Generated (scripts/generate-protos.sh).
        .executableTarget(
            name: "ContractGen",
            dependencies: [
                "PixEcomProtos",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        // The test service (pixecom.testing.v1.EchoService) and a standalone server for it.
        .target(
            name: "EchoService",
            dependencies: ["RPCKit", "PixEcomProtos"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "EchoServer",
            dependencies: [
                "EchoService", "RPCKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "JobWorker",
            dependencies: [
                "ServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "JobsCLI",
            dependencies: [
                "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PixEcomTests",
            dependencies: [
                "RPCCore", "RPCKit", "ServiceKit", "PixEcomProtos", "EchoService",
                // The executables, whose runtimes the end-to-end tests start inside the test process.
                "AuthService", "CampaignService", "StatsService", "OrderService", "Edge",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                // The tracking provider's stand-in.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
