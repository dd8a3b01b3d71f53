// swift-tools-version:6.1
import Foundation
import PackageDescription

/// Keyway: a Redis-protocol cluster proxy and shard node. See ../shared/DESIGN.md for the module graph.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

var package = Package(
    name: "keyway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "keyway", targets: ["keyway"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "ClusterModel", targets: ["ClusterModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "RESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClusterModel",
            dependencies: ["RESP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // C shims the standard library lacks (a cache prefetch hint); header-only inline functions.
        .target(name: "CKeywayShims"),
        .target(
            name: "KeywayNode",
            dependencies: [
                "RESP", "ClusterModel", "CKeywayShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // Commands mutate the node's shared state (stored properties of classes) under the node lock, which
            // already makes every access exclusive; the runtime's dynamic exclusivity checks on those accesses
            // measured ~6-8% of the node's CPU time. KeywayNode is no library product, so the unsafe flag never
            // reaches a package that depends on Keyway.
            // Debug builds (the tests) keep the checks, so that a violation traps instead of corrupting memory.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "KeywayProxy",
            dependencies: [
                "RESP", "ClusterModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // Loop-confined classes on the per-request path: dynamic exclusivity checks cost ~7% of the proxy's CPU
            // (perf under redis-benchmark -P 16), so release builds leave them out, as for KeywayNode.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "KeywayBench",
            dependencies: [
                "RESP", "ClusterModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            // The load generator's per-request path runs on loop-confined classes; dynamic exclusivity checks
            // cost ~12% of its CPU there (measured with perf), so release builds leave them out.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "KeywayAdmin",
            dependencies: [
                "ClusterModel", "KeywayNode", "KeywayProxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "keyway",
            dependencies: [
                "RESP", "ClusterModel", "KeywayNode", "KeywayProxy", "KeywayBench", "KeywayAdmin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RESPTests",
            dependencies: [
                "RESP", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeywayNodeTests",
            dependencies: [
                "KeywayNode", "RESP", "ClusterModel", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeywayProxyTests",
            dependencies: [
                "KeywayProxy", "KeywayNode", "KeywayAdmin", "RESP", "ClusterModel", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeywayBenchTests",
            dependencies: [
                "KeywayBench", "RESP", "ClusterModel", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeywayAdminTests",
            dependencies: [
                "KeywayAdmin", "ClusterModel", "KeywayNode", "KeywayProxy", "RESP", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClusterModelTests",
            dependencies: ["ClusterModel", "RESP", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)

// Micro benchmarks (package-benchmark) are built only when KEYWAY_BENCHMARKS is set, so that plain
// `swift build` / `swift test` never compile them or their dependencies.
if ProcessInfo.processInfo.environment["KEYWAY_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"])
    )
    package.targets.append(
        .executableTarget(
            name: "KeywayMicro",
            dependencies: [
                "RESP", "ClusterModel", "KeywayNode",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Benchmarks/KeywayMicro",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
