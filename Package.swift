// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The face kernels are optimised in debug builds too: unoptimised, a mirror frame's landmarks take seconds, and the
// demo and the tests run debug builds.
let faceMeshCPU: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

// The daemon is linked by lld with its relative relocations packed (DT_RELR, glibc 2.36 and later: Debian 12): the
// table the loader reads at every start shrinks from 1.4 MB to 12 KB, and an idle hub's RSS by about 1.3 MB
// (docs/architecture.md, Memory).
let packedRelocations: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))
]

let package = Package(
    name: "StoreHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "storehub", targets: ["storehub"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C libraries: a module map and a small shim header each.
        .systemLibrary(name: "CV4L2", path: "Sources/CV4L2", pkgConfig: "libv4l2"),
        .systemLibrary(name: "CZBar", path: "Sources/CZBar", pkgConfig: "zbar"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg"),
        .systemLibrary(name: "CXKBCommon", path: "Sources/CXKBCommon", pkgConfig: "xkbcommon"),
        .systemLibrary(name: "CLinuxInput", path: "Sources/CLinuxInput"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CQREncode", path: "Sources/CQREncode", pkgConfig: "libqrencode"),
        // zxing-cpp is C++: one C++ file behind a C header, so Swift calls plain C functions.
        .target(
            name: "CZXing", cxxSettings: [.define("ZX_USE_UTF8")], linkerSettings: [.linkedLibrary("ZXing")]),

        .target(name: "HubCore", swiftSettings: swiftSettings),
        // Every module's settings and the loader of hub.json and device descriptors, with their one error format.
        .target(name: "Config", dependencies: ["HubCore"], swiftSettings: swiftSettings),
        .target(
            name: "Capture",
            dependencies: ["HubCore", "CTurboJPEG", "CPNG", "CV4L2"],
            swiftSettings: swiftSettings
        ),
        .target(name: "Barcode", dependencies: ["HubCore", "CZBar", "CZXing"], swiftSettings: swiftSettings),
        // Face detector and face mesh models run natively: a TFLite reader, float32 kernels, the pipeline. The
        // convolution kernels are C (CFaceKernels) with one copy per instruction set, chosen at run time: one binary
        // runs on any x86-64 and uses AVX2+FMA where the CPU has them.
        .target(
            name: "CFaceKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(
            name: "FaceMesh", dependencies: ["HubCore", "CFaceKernels"], swiftSettings: swiftSettings + faceMeshCPU),
        .target(name: "TryOn", dependencies: ["HubCore", "Config"], swiftSettings: swiftSettings),
        .target(
            name: "Scanners",
            dependencies: ["HubCore", "Config", "Barcode", "CXKBCommon", "CLinuxInput"],
            swiftSettings: swiftSettings
        ),
        // Signed pickup codes: Ed25519 verification at the edge, and the signing side for set-up and tests.
        .target(
            name: "Pickup", dependencies: ["HubCore", "Config", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // One SQLite connection and its statements, for every table the hub keeps: the event log, tokens, dead letters.
        .target(name: "SQLiteStore", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(
            name: "EventLog",
            dependencies: [
                "HubCore", "Config", "SQLiteStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Bus",
            dependencies: ["HubCore", "Config", "EventLog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Server",
            dependencies: [
                "HubCore", "Config", "Bus", "EventLog", "SQLiteStore", "CQREncode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // Webhook sinks: durable consumers of the log that POST events to services over HTTP(S).
        .target(
            name: "Sinks",
            dependencies: [
                "HubCore", "Config", "EventLog", "SQLiteStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Uplink",
            dependencies: [
                "HubCore", "Config", "EventLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Hub",
            dependencies: [
                "HubCore", "Config", "Capture", "Barcode", "Scanners", "EventLog", "Bus", "Server", "TryOn", "FaceMesh",
                "Sinks", "Uplink", "Pickup",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "storehub",
            dependencies: [
                "Hub", "HubCore", "Config", "Server", "EventLog", "Capture", "Barcode", "Scanners", "TryOn", "FaceMesh",
                "Pickup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: packedRelocations
        ),
        // Times the native face pipeline for scripts/bench/facemesh_bench.py (make bench-facemesh).
        .executableTarget(name: "facemesh-bench", dependencies: ["FaceMesh", "HubCore"], swiftSettings: swiftSettings),
        // The try-on renderer's benchmark (make bench-tryon): a release build of it needs no network stack.
        .executableTarget(
            name: "storehub-tryon-bench",
            dependencies: [
                "TryOn", "Capture", "HubCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test tool for the VM: a uinput keyboard that types barcodes under a layout, and an event reader.
        .executableTarget(
            name: "storehub-testkit",
            dependencies: [
                "Scanners", "CLinuxInput", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Fuzz targets for libFuzzer (scripts/fuzz); in a normal build, a tool that replays inputs.
        .executableTarget(
            name: "storehub-fuzz",
            dependencies: [
                "Bus", "Config", "EventLog", "HubCore", .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            path: "Fuzz/storehub-fuzz",
            swiftSettings: swiftSettings),

        // What the test targets share: temporary folders, and a bus on a real log and token store.
        .target(
            name: "StoreHubTestSupport", dependencies: ["Bus", "Config", "EventLog", "HubCore", "Server"],
            path: "Tests/StoreHubTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "HubCoreTests", dependencies: ["HubCore", "StoreHubTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ConfigTests", dependencies: ["Config", "HubCore", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CaptureTests", dependencies: ["Capture", "HubCore", "CTurboJPEG", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BarcodeTests", dependencies: ["Barcode", "Capture", "HubCore"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PickupTests", dependencies: ["Pickup", "Config", "HubCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FaceMeshTests", dependencies: ["FaceMesh", "HubCore", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "Config", "HubCore", "SQLiteStore", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "BusTests", dependencies: ["Bus", "Config", "EventLog", "HubCore", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ScannersTests", dependencies: ["Scanners", "Barcode", "Config", "HubCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TryOnTests", dependencies: ["TryOn", "Capture", "HubCore", "CTurboJPEG", "StoreHubTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SinksTests",
            dependencies: ["Sinks", "StoreHubTestSupport", .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "UplinkTests",
            dependencies: ["Uplink", "Config", "HubCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Bus", "Config", "EventLog", "HubCore", "SQLiteStore", "StoreHubTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings),
        // The hub's own parts in-process: device supervision and backoff, the systemd notifier on a real socket,
        // graceful shutdown through ServiceLifecycleTestKit.
        .testTarget(
            name: "HubTests",
            dependencies: [
                "Hub", "Bus", "Config", "EventLog", "HubCore", "StoreHubTestSupport", "TryOn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings),
    ]
)
