// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
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
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
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

        .target(name: "HubCore", swiftSettings: swiftSettings),
        .target(
            name: "Capture",
            dependencies: ["HubCore", "CTurboJPEG", "CPNG", "CV4L2"],
            swiftSettings: swiftSettings
        ),
        .target(name: "Barcode", dependencies: ["HubCore", "CZBar"], swiftSettings: swiftSettings),
        .target(
            name: "Scanners",
            dependencies: ["HubCore", "Barcode", "CXKBCommon", "CLinuxInput"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EventLog",
            dependencies: ["HubCore", "CSQLite", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Bus",
            dependencies: ["HubCore", "EventLog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Server",
            dependencies: [
                "HubCore", "Bus", "EventLog",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Uplink",
            dependencies: [
                "HubCore", "EventLog",
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
                "HubCore", "Capture", "Barcode", "Scanners", "EventLog", "Bus", "Server", "Uplink",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "storehub",
            dependencies: [
                "Hub", "HubCore", "Server", "EventLog", "Capture", "Barcode", "Scanners",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
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

        .testTarget(name: "HubCoreTests", dependencies: ["HubCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CaptureTests", dependencies: ["Capture", "HubCore", "CTurboJPEG"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BarcodeTests", dependencies: ["Barcode", "Capture", "HubCore"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "HubCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BusTests", dependencies: ["Bus", "EventLog", "HubCore", "Server"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ScannersTests", dependencies: ["Scanners", "Barcode", "HubCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "UplinkTests",
            dependencies: ["Uplink", "HubCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServerTests", dependencies: ["Server", "EventLog", "HubCore"], swiftSettings: swiftSettings),
    ]
)
