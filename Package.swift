// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "stowage",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stowage", targets: ["stowage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "StowageModel", swiftSettings: strict),
        .target(name: "StowageScheduler", dependencies: ["StowageModel"], swiftSettings: strict),
        // Pure: sketches, statistics, metric math, filter patterns, schedules, alarm and scaling rules.
        .target(name: "StowageMonitoring", dependencies: ["StowageModel"], swiftSettings: strict),
        .target(
            name: "StowageStore",
            dependencies: [
                "StowageModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only for its error type: the pool's circuit breaker reports a database that stays down with it.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StowageTelemetry",
            dependencies: ["StowageModel", "StowageMonitoring", "StowageStore", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "StowageIAM",
            dependencies: [
                "StowageModel",
                "StowageStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StowageAPI",
            dependencies: [
                "StowageModel",
                "StowageTelemetry",
                "StowageScheduler",
                "StowageStore",
                "StowageIAM",
                "StowageWorker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StowageWorker",
            dependencies: [
                "StowageModel",
                "StowageIAM",
                "StowageMonitoring",
                "StowageTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                "StowageScheduler",
                "StowageStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StowageAgent",
            dependencies: [
                "StowageModel",
                "StowageIAM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "stowage",
            dependencies: [
                "StowageModel",
                "StowageStore",
                "StowageIAM",
                "StowageAPI",
                "StowageWorker",
                "StowageAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `make bench`: in-memory placement throughput.
        .executableTarget(
            name: "PlacementBench",
            dependencies: ["StowageModel", "StowageScheduler"],
            path: "Benchmarks/PlacementBench",
            swiftSettings: strict
        ),
        // Shared by the test targets only: the throwaway test database.
        .target(
            name: "StowageTestSupport",
            dependencies: ["StowageStore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(name: "StowageModelTests", dependencies: ["StowageModel"], swiftSettings: strict),
        .testTarget(name: "StowageMonitoringTests", dependencies: ["StowageMonitoring"], swiftSettings: strict),
        .testTarget(
            name: "StowageSchedulerTests",
            dependencies: ["StowageScheduler", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        .testTarget(name: "StowageStoreTests", dependencies: ["StowageStore", "StowageTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "StowageIAMTests",
            dependencies: ["StowageIAM", "StowageTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageAgentTests",
            dependencies: ["StowageAgent", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageWorkerTests",
            dependencies: ["StowageWorker", "StowageTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageAPITests",
            dependencies: [
                "StowageAPI",
                "StowageWorker",
                "StowageTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
