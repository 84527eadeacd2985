// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every target: explicit existentials, imports visible where used.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Callbot",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "callbotctl", targets: ["callbotctl"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "CallbotCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scheduling",
            dependencies: ["CallbotCore"],
            swiftSettings: swiftSettings
        ),
        // HTTP for agents and administrators on the admin address: hand-offs, callbacks,
        // appointments, health, Prometheus metrics, the report, reloads.
        .target(
            name: "AdminAPI",
            dependencies: [
                "CallbotCore", "CallRuntime", "Indicators", "Scheduling", "Storage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Dashboard"), .copy("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        // The telephone-plan indicators: what each call counts for, and the report's figures.
        .target(name: "Indicators", dependencies: ["CallbotCore"], swiftSettings: swiftSettings),
        .target(
            name: "Storage",
            dependencies: [
                "CallbotCore", "Indicators",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Assistant", dependencies: ["CallbotCore"], swiftSettings: swiftSettings),
        // The assistant's models behind OpenAI-compatible endpoints (embeddings, chat completions).
        .target(
            name: "ModelEndpoints",
            dependencies: [
                "Assistant", "CallbotCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CallRuntime",
            dependencies: [
                "CallbotCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CEspeakNG", pkgConfig: "espeak-ng", providers: [.apt(["libespeak-ng-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(
            name: "CPortAudio", pkgConfig: "portaudio-2.0", providers: [.apt(["portaudio19-dev", "libasound2-dev"])]),
        .target(name: "Audio", dependencies: ["CSndFile", "CPortAudio"], swiftSettings: swiftSettings),
        .target(name: "Speech", dependencies: ["Audio", "CEspeakNG"], swiftSettings: swiftSettings),
        .target(
            name: "Telephony",
            dependencies: [
                "CallbotCore", "CSRTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "callbotd",
            dependencies: [
                "CallbotCore", "CallRuntime", "Assistant", "ModelEndpoints", "AdminAPI", "Scheduling", "Storage",
                "Telephony", "Speech", "Audio", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "callbotctl",
            dependencies: [
                "CallbotCore", "CallRuntime", "Assistant", "ModelEndpoints", "Indicators", "Scheduling", "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "callbot-bench",
            dependencies: ["CallbotCore", "Assistant"],
            path: "Benchmarks/callbot-bench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "callbot-fuzz",
            dependencies: ["CallbotCore", "Telephony"],
            path: "Fuzz/callbot-fuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "report-bench",
            dependencies: ["CallbotCore", "Indicators", "Storage"],
            path: "Benchmarks/report-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CallbotCoreTests", dependencies: ["CallbotCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IndicatorsTests", dependencies: ["Indicators", "Storage", "CallbotCore"],
            swiftSettings: swiftSettings),
        .testTarget(name: "AssistantTests", dependencies: ["Assistant", "CallbotCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ModelEndpointsTests", dependencies: ["ModelEndpoints", "Assistant", "CallbotCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CallRuntimeTests", dependencies: ["CallRuntime", "CallbotCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SchedulingTests", dependencies: ["Scheduling", "CallbotCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StorageTests", dependencies: ["Storage", "Scheduling", "CallbotCore", "Indicators"],
            swiftSettings: swiftSettings),
        .testTarget(name: "CallbotctlTests", dependencies: ["CallbotCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AdminAPITests",
            dependencies: [
                "AdminAPI", "CallRuntime", "CallbotCore", "Storage",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "TelephonyTests", dependencies: ["Telephony"], swiftSettings: swiftSettings),
        .testTarget(name: "SpeechTests", dependencies: ["Speech", "Audio"], swiftSettings: swiftSettings),
        .testTarget(name: "AudioTests", dependencies: ["Audio"], swiftSettings: swiftSettings),
        .testTarget(name: "LineTests", swiftSettings: swiftSettings),
    ]
)
