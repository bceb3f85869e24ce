// swift-tools-version:6.2
import PackageDescription

/// One set of compiler settings for every target: Swift 6 language mode plus the upcoming features
/// the server-side Swift projects we model ourselves on enable.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Every WedSync service executable: one folder under `services/`, the shared service kit below it.
/// A service whose logic is a library (so tests can run it in process) has its executable in `Sources/<name>` and
/// the library beside it in `Sources/<library>`.
/// `uses` names the shared libraries beyond the service kit that the service (and its library) build on.
let services: [(name: String, folder: String, library: String?, uses: [Target.Dependency])] = [
    (
        "wedsync-gateway", "gateway", "WedSyncGateway",
        [
            "WedSyncCacheKit", "WedSyncCompression", "WedSyncRedis", "WedSyncRedisService",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "CompressNIO", package: "compress-nio"),
        ]
    ),
    (
        "wedsync-cache", "cache", "WedSyncCacheService",
        [
            "WedSyncCacheKit", "WedSyncRedis", "WedSyncRedisService", .product(name: "Yams", package: "Yams"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]
    ),
    (
        "wedsync-query-optimizer", "query-optimizer", "WedSyncQueryOptimizer",
        [
            "WedSyncPostgres", "WedSyncPostgresService", "WedSyncConnectionPool",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]
    ),
    (
        "wedsync-metrics", "metrics", "WedSyncMetrics",
        [
            "CSQLite", "CCurl", .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]
    ),
    (
        "wedsync-autoscaler", "autoscaler", "WedSyncAutoscaler",
        [
            .product(name: "Yams", package: "Yams"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]
    ),
    ("wedsync-api", "api", "WedSyncAPI", ["WedSyncPostgres", "WedSyncPostgresService", "WedSyncConnectionPool"]),
]

/// Tests live beside what they test, one target a room (`services/<folder>/Tests`, `shared/<Lib>/Tests`), so
/// `swift test --filter <target>` runs one room's tests and a compile error in one room stops only its own.
/// `tests/Flows` holds the flows across services: the whole stack, and contracts between a sender and a receiver.
let roomTests: [(name: String, path: String, dependencies: [Target.Dependency])] = [
    ("WedSyncModelsTests", "shared/Models/Tests", ["WedSyncModels"]),
    ("WedSyncCompressionTests", "shared/Compression/Tests", ["WedSyncCompression"]),
    (
        "WedSyncConnectionPoolTests", "shared/ConnectionPool/Tests",
        ["WedSyncConnectionPool", .product(name: "NIOPosix", package: "swift-nio")]
    ),
    ("WedSyncPostgresTests", "shared/Postgres/Tests", ["WedSyncPostgres", "WedSyncConnectionPool"]),
    (
        "WedSyncRedisTests", "shared/Redis/Tests",
        ["WedSyncRedis", "WedSyncConnectionPool", .product(name: "NIOCore", package: "swift-nio")]
    ),
    (
        "WedSyncServiceKitTests", "shared/ServiceKit/Tests",
        [
            "WedSyncServiceKit", "WedSyncModels", "WedSyncPostgres", "WedSyncPostgresService", "WedSyncRedisService",
            "WedSyncConnectionPool", .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    (
        "WedSyncCacheKitTests", "shared/CacheKit/Tests",
        [
            "WedSyncCacheKit", "WedSyncModels", "WedSyncRedis", "WedSyncConnectionPool",
            .product(name: "Crypto", package: "swift-crypto"),
        ]
    ),
    ("WedSyncAPITests", "services/api/Tests", ["WedSyncAPI", "WedSyncModels", "WedSyncPostgres", "WedSyncServiceKit"]),
    (
        "WedSyncCacheServiceTests", "services/cache/Tests",
        ["WedSyncCacheService", "WedSyncCacheKit", "WedSyncModels", "WedSyncServiceKit"]
    ),
    (
        "WedSyncGatewayTests", "services/gateway/Tests",
        [
            "WedSyncGateway", "WedSyncCacheKit", "WedSyncCompression", "WedSyncModels", "WedSyncServiceKit",
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    (
        "WedSyncMetricsTests", "services/metrics/Tests",
        [
            "WedSyncMetrics", "WedSyncModels", "WedSyncServiceKit",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    (
        "WedSyncAutoscalerTests", "services/autoscaler/Tests",
        [
            "WedSyncAutoscaler", "WedSyncModels", "WedSyncServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    (
        "WedSyncQueryOptimizerTests", "services/query-optimizer/Tests",
        ["WedSyncQueryOptimizer", "WedSyncModels", "WedSyncPostgres", "WedSyncServiceKit"]
    ),
    (
        "WedSyncLoadTests", "tools/load/Tests",
        [
            "WedSyncLoad", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]
    ),
    (
        "WedSyncFlowTests", "tests/Flows",
        [
            "WedSyncAPI", "WedSyncCacheKit", "WedSyncCacheService", "WedSyncCompression", "WedSyncMetrics",
            "WedSyncQueryOptimizer", "WedSyncModels",
            "WedSyncPostgres",
            "WedSyncRedis", "WedSyncServiceKit",
        ]
    ),
]

let package = Package(
    name: "wedsync-platform",
    platforms: [.macOS(.v15)],
    products: services.map { .executable(name: $0.name, targets: [$0.name]) } + [
        .executable(name: "wedsync-bench", targets: ["wedsync-bench"]),
        .executable(name: "wedsync-load", targets: ["wedsync-load"]),
        .library(name: "WedSyncServiceKit", targets: ["WedSyncServiceKit"]),
        .library(name: "WedSyncModels", targets: ["WedSyncModels"]),
        .library(name: "WedSyncPostgres", targets: ["WedSyncPostgres"]),
        .library(name: "WedSyncRedis", targets: ["WedSyncRedis"]),
        .library(name: "WedSyncCacheKit", targets: ["WedSyncCacheKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(
            url: "https://github.com/apple/swift-configuration.git",
            from: "1.4.0",
            traits: ["YAML", "CommandLineArguments"]
        ),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C libraries, wrapped once, each beside the one client that uses it.
        .systemLibrary(name: "CLibPQ", path: "shared/Postgres/CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", path: "shared/Redis/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSQLite", path: "services/metrics/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", path: "services/metrics/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CBrotli", path: "shared/Compression/CBrotli", providers: [.apt(["libbrotli-dev"])]),

        // The ground floor every service stands on.
        .target(
            name: "WedSyncModels",
            path: "shared/Models/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WedSyncConnectionPool",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "shared/ConnectionPool/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WedSyncPostgres",
            dependencies: [
                "CLibPQ",
                "WedSyncConnectionPool",
                "WedSyncModels",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "shared/Postgres/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WedSyncRedis",
            dependencies: [
                "CHiredis",
                "WedSyncConnectionPool",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "shared/Redis/Sources",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WedSyncServiceKit",
            dependencies: [
                "WedSyncModels",
                "WedSyncConnectionPool",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "shared/ServiceKit/Sources",
            swiftSettings: swiftSettings
        ),

        // The content codings a response travels in (brotli over libbrotli, gzip over zlib) and their negotiation.
        .target(
            name: "WedSyncCompression",
            dependencies: [
                "CBrotli",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "shared/Compression/Sources",
            swiftSettings: swiftSettings
        ),

        // What the PostgreSQL and Redis clients contribute to a service (`service.postgres()`, `service.redis()`):
        // the dependency, its readiness check, its pool's figures and its error mapping. Only the services that use
        // a database or Redis link these, and so libpq or hiredis.
        .target(
            name: "WedSyncPostgresService",
            dependencies: [
                "WedSyncPostgres", "WedSyncServiceKit", "WedSyncConnectionPool",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "shared/Postgres/Service",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WedSyncRedisService",
            dependencies: ["WedSyncRedis", "WedSyncServiceKit"],
            path: "shared/Redis/Service",
            swiftSettings: swiftSettings
        ),

        // The multi-tier cache the cache service and the gateway embed: L1, L2 on Redis, tags, backplane.
        .target(
            name: "WedSyncCacheKit",
            dependencies: [
                "WedSyncModels",
                "WedSyncRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "shared/CacheKit/Sources",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: a program that prints figures (run it through scripts/bench).
        .executableTarget(
            name: "wedsync-bench",
            dependencies: [
                "WedSyncPostgres",
                "WedSyncRedis",
                "WedSyncConnectionPool",
                "WedSyncModels",
                "WedSyncAPI",
                "WedSyncCacheKit",
                "WedSyncCacheService",
                "WedSyncQueryOptimizer",
                "WedSyncServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "tests/Benchmarks",
            swiftSettings: swiftSettings
        ),

        // The load tester: a tool run against the platform, not part of it (tools/load, see the README).
        .target(
            name: "WedSyncLoad",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "tools/load/Sources/WedSyncLoad",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "wedsync-load",
            dependencies: ["WedSyncLoad"],
            path: "tools/load/Sources/wedsync-load",
            swiftSettings: swiftSettings
        ),

        // What every room's tests share: the test environment, the process launchers, the private servers.
        .target(
            name: "WedSyncTestSupport",
            dependencies: [
                "WedSyncServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "tests/TestSupport",
            exclude: ["Peers"],
            swiftSettings: swiftSettings
        ),
    ]
        + roomTests.map { room in
            .testTarget(
                name: room.name,
                dependencies: ["WedSyncTestSupport"] + room.dependencies,
                path: room.path,
                swiftSettings: swiftSettings
            )
        }
        + services.map { service in
            .executableTarget(
                name: service.name,
                dependencies: ["WedSyncServiceKit", "WedSyncModels"] + service.uses
                    + (service.library.map { [.target(name: $0), .product(name: "Logging", package: "swift-log")] }
                        ?? []),
                path: service.library == nil
                    ? "services/\(service.folder)/Sources" : "services/\(service.folder)/Sources/\(service.name)",
                swiftSettings: swiftSettings
            )
        }
        + services.compactMap { service in
            service.library.map { library in
                .target(
                    name: library,
                    dependencies: service.uses + [
                        "WedSyncServiceKit",
                        "WedSyncModels",
                        .product(name: "Hummingbird", package: "hummingbird"),
                        .product(name: "Crypto", package: "swift-crypto"),
                        .product(name: "Logging", package: "swift-log"),
                        .product(name: "Metrics", package: "swift-metrics"),
                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                        .product(name: "NIOCore", package: "swift-nio"),
                    ],
                    path: "services/\(service.folder)/Sources/\(library)",
                    swiftSettings: swiftSettings
                )
            }
        }
)
