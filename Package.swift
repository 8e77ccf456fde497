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
    // Exact versions: an application builds the same bytes every time. (A Package.resolved made here names
    // commits that exist only in this machine's package copies, so it stays out of git; packages these
    // depend on resolve within their own pins' ranges.)
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", exact: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
    ],
    targets: [
        // Pure targets: no I/O, no PostgreSQL, no HTTP. Logic here is tested without a database.
        // Wire types, validation, ARNs, ids, the agent protocol.
        .target(name: "StowageModel", swiftSettings: strict),
        // Placement, the service reconciler, host-loss decisions.
        .target(name: "StowageScheduler", dependencies: ["StowageModel"], swiftSettings: strict),
        // Sketches, statistics, metric math, filter patterns, schedules, alarm and scaling rules.
        .target(name: "StowageMonitoringRules", dependencies: ["StowageModel"], swiftSettings: strict),
        // The load balancers' data plane decided without I/O: HAProxy's configuration and runtime changes from a snapshot.
        .target(name: "StowageProxyConfig", dependencies: ["StowageModel"], swiftSettings: strict),
        // DNS messages and the tenant's Cloud Map names as a zone: what the agent's resolver answers, decided without I/O.
        .target(name: "StowageDNS", dependencies: ["StowageModel"], swiftSettings: strict),
        // SigV4 signing, constant-time compare, shared-credentials files: what the agent and CLI need to sign.
        .target(
            name: "StowageSigning",
            dependencies: ["StowageModel", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),

        // TLS: a local CA for `stowage dev`, the server's reloading certificate, what clients trust, where plain HTTP may go.
        .target(
            name: "StowageTLS",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // I/O targets. PostgreSQL: every SQL statement lives in a store here.
        .target(
            name: "StowageStore",
            dependencies: [
                "StowageModel", "StowageTLS",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only for its error type: the pool's circuit breaker reports a database that stays down with it.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // Metrics, logs and alarms in PostgreSQL.
        .target(
            name: "StowageTelemetryStore",
            dependencies: [
                "StowageModel", "StowageMonitoringRules", "StowageStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Accounts, users, roles, policies, access keys; SigV4 verification and policy evaluation.
        .target(
            name: "StowageIAM",
            dependencies: [
                "StowageModel", "StowageSigning", "StowageStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The one orchestration step the API and the worker both run: lock a cluster, load its snapshot, decide
        // with the pure scheduler, apply, notify the agents; and the notifier that wakes their long polls.
        .target(
            name: "StowageOrchestrator",
            dependencies: [
                "StowageModel", "StowageScheduler", "StowageStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Use cases: each owns its transaction and what follows it; the doors decode, authorize, call one, shape.
        .target(
            name: "StowageUseCases",
            dependencies: [
                "StowageModel", "StowageScheduler", "StowageMonitoringRules", "StowageProxyConfig", "StowageStore", "StowageTelemetryStore",
                "StowageIAM", "StowageOrchestrator",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The HTTP doors (ECS, IAM, STS, Logs, CloudWatch, Application Auto Scaling, REST, the agent protocol).
        .target(
            name: "StowageAPI",
            dependencies: [
                "StowageModel", "StowageScheduler", "StowageMonitoringRules", "StowageSigning",
                "StowageStore", "StowageTelemetryStore", "StowageIAM", "StowageOrchestrator", "StowageUseCases",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Job handlers run by the queue's workers: reconcile, place, sweeps, rollups, alarms, scaling.
        .target(
            name: "StowageWorker",
            dependencies: [
                "StowageModel", "StowageScheduler", "StowageMonitoringRules", "StowageStore",
                "StowageTelemetryStore", "StowageIAM", "StowageOrchestrator", "StowageUseCases", "StowageTLS",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The host agent: no PostgreSQL code links here.
        .target(
            name: "StowageAgent",
            dependencies: [
                "StowageModel", "StowageSigning", "StowageTLS", "StowageDNS", "StowageShell",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Running other programs (PostgreSQL's tools, HAProxy) with posix_spawn and waitpid.
        .target(name: "StowageShell", dependencies: ["StowageModel"], swiftSettings: strict),
        // `stowage lb`: supervises HAProxy for the load balancers in PostgreSQL.
        .target(
            name: "StowageLoadBalancer",
            dependencies: [
                "StowageModel", "StowageStore", "StowageProxyConfig", "StowageShell", "StowageTelemetryStore", "StowageMonitoringRules",
                "StowageUseCases",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "stowage",
            dependencies: [
                "StowageModel", "StowageSigning", "StowageStore", "StowageTelemetryStore", "StowageIAM",
                "StowageAPI", "StowageWorker", "StowageAgent", "StowageOrchestrator", "StowageTLS", "StowageLoadBalancer", "StowageShell",
                "StowageUseCases",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
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
            dependencies: [
                "StowageStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageTLSTests",
            dependencies: ["StowageTLS", .product(name: "X509", package: "swift-certificates"), .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: strict
        ),
        // Runs the real HAProxy on rendered configurations (StowageShell starts it).
        .testTarget(name: "StowageProxyConfigTests", dependencies: ["StowageProxyConfig", "StowageModel", "StowageShell"], swiftSettings: strict),
        .testTarget(name: "StowageDNSTests", dependencies: ["StowageDNS", "StowageModel"], swiftSettings: strict),
        .testTarget(
            name: "StowageModelTests",
            dependencies: ["StowageModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        .testTarget(name: "StowageMonitoringRulesTests", dependencies: ["StowageMonitoringRules", "StowageModel"], swiftSettings: strict),
        .testTarget(
            name: "StowageSchedulerTests",
            dependencies: ["StowageScheduler", "StowageModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageStoreTests",
            dependencies: [
                "StowageStore", "StowageTestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageIAMTests",
            dependencies: [
                "StowageIAM", "StowageSigning", "StowageModel", "StowageStore", "StowageTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageAgentTests",
            dependencies: [
                "StowageAgent", "StowageModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageWorkerTests",
            dependencies: [
                "StowageWorker", "StowageModel", "StowageStore", "StowageTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StowageAPITests",
            dependencies: [
                "StowageAPI", "StowageWorker", "StowageModel", "StowageIAM", "StowageSigning", "StowageStore",
                "StowageTestSupport", "StowageUseCases",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
