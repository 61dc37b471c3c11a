// swift-tools-version:6.0
// trackbag: record, replay and pipe LiveKit data tracks. Layers, lowest first:
// C shims, Codecs → DataTracks, WebRTCData, LiveKitProtocol, TrackModel → Recording, MCAP → Pipeline
// → Stages → trackbag (docs/ARCHITECTURE.md).
import PackageDescription
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let package = Package(
    name: "trackbag",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "trackbag", targets: ["trackbag"]),
        .executable(name: "trackbag-testpeer", targets: ["trackbag-testpeer"]),
        .executable(name: "trackbag-bench", targets: ["trackbag-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // System libraries (Debian -dev packages, installed by `make deps`).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4"),
        .systemLibrary(name: "CUsrsctp", path: "Sources/CUsrsctp"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // OpenSSL needs a C shim: several of its APIs are macros Swift cannot call.
        .target(name: "COpenSSL", path: "Sources/COpenSSL",
                linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // recvmmsg/sendmmsg, which glibc declares only under _GNU_SOURCE (Linux; empty elsewhere).
        .target(name: "CUDP", path: "Sources/CUDP"),

        // Pure text and binary codecs (JSON, CBOR, MessagePack, base64, globs) and the value tree
        // they decode into; no dependencies, usable from any layer.
        .target(name: "Codecs"),
        // The shared vocabulary above the wire: tracks, schemas, session events, track globs and
        // time offsets. Storage, pipeline and stages all name tracks with it.
        .target(name: "TrackModel", dependencies: ["Codecs"]),
        // Metric samples and their publication through swift-metrics: the pipeline and the server
        // describe their live counters with it; the CLI picks the backend (Prometheus).
        .target(name: "Observability", dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")]),
        // Synthetic robot sessions for the demo, benchmarks and tests (seeded, reproducible).
        .target(name: "Synthetic", dependencies: ["TrackModel", "Codecs"]),

        // Wire layers: pure codecs and state machines, no pipeline knowledge.
        .target(name: "DataTracks", dependencies: ["COpenSSL"]),
        .target(name: "WebRTCData", dependencies: ["COpenSSL", "CUsrsctp", "CUDP"]),
        .target(name: "LiveKitProtocol", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"), "COpenSSL", "CZlib", "Codecs",
        ]),

        // LiveKit rooms: the Swift client and the embedded server, on the wire layers above.
        .target(name: "RoomClient", dependencies: [
            "DataTracks", "WebRTCData", "LiveKitProtocol",
            .product(name: "WSClient", package: "swift-websocket"),
        ]),
        .target(name: "RoomServer", dependencies: [
            "DataTracks", "WebRTCData", "LiveKitProtocol",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"), "Observability",
        ]),

        // Storage layers.
        .target(name: "Recording", dependencies: ["TrackModel", "CSQLite", "CZstd"]),
        // CRC-32 for MCAP's chunk and data-section CRCs: PCLMULQDQ folding, zlib for the rest.
        .target(name: "CCRC32", path: "Sources/CCRC32", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "MCAP", dependencies: ["CZstd", "CLZ4", "CCRC32"]),
        // rosbag2's SQLite3 storage files (`*.db3`), read-only, and its per-message zstd; its
        // MCAP storage is MCAP's.
        .target(name: "Rosbag2", dependencies: ["CSQLite", "CZstd"]),

        // Pipeline runtime and its built-in stages (one folder per stage under Plugins/).
        .target(name: "Pipeline", dependencies: [
            "TrackModel", "Codecs", .product(name: "Yams", package: "Yams"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"), "Observability",
        ]),
        .target(name: "Stages", dependencies: ["Pipeline", "TrackModel", "Codecs", "Recording", "MCAP", "Rosbag2", "DataTracks", "RoomClient", "LiveKitProtocol",
                                           .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                                           .product(name: "Logging", package: "swift-log"),
                                           "Observability"],
                path: "Plugins"),

        .executableTarget(name: "trackbag", dependencies: [
            "Stages", "Pipeline", "TrackModel", "Codecs", "Synthetic", "Recording", "MCAP", "DataTracks", "LiveKitProtocol", "WebRTCData",
            "RoomClient", "RoomServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
            "Observability", .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // What every test target shares: the SDK captures, hex literals, waiting, scratch paths.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The peers and tools interop tests and benchmarks drive; not part of the product.
        .executableTarget(name: "trackbag-testpeer", dependencies: [
            "Stages", "Pipeline", "TrackModel", "Recording", "MCAP", "DataTracks", "LiveKitProtocol", "WebRTCData",
            "RoomClient",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),

        // Micro-benchmarks, each printed beside its baseline (`make bench`).
        .executableTarget(name: "trackbag-bench", dependencies: [
            "Stages", "Pipeline", "TrackModel", "Synthetic", "Recording", "MCAP", "DataTracks", "CSQLite", "CZstd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks"),

        .testTarget(name: "DataTracksTests", dependencies: ["TestSupport", "Synthetic", "DataTracks"]),
        .testTarget(name: "WebRTCDataTests", dependencies: ["TestSupport", "WebRTCData"]),
        .testTarget(name: "LiveKitProtocolTests", dependencies: ["TestSupport", "Synthetic", "LiveKitProtocol"]),
        .testTarget(name: "RoomClientTests", dependencies: ["TestSupport", "RoomClient", "RoomServer"]),
        .testTarget(name: "RoomServerTests", dependencies: ["TestSupport", "RoomServer"]),
        .testTarget(name: "CodecsTests", dependencies: ["TestSupport", "Synthetic", "Codecs"]),
        .testTarget(name: "TrackModelTests", dependencies: ["TestSupport", "TrackModel"]),
        .testTarget(name: "RecordingTests", dependencies: ["TestSupport", "Synthetic", "Recording", "TrackModel"]),
        .testTarget(name: "MCAPTests", dependencies: ["TestSupport", "MCAP"]),
        .testTarget(name: "Rosbag2Tests", dependencies: ["TestSupport", "Rosbag2", "CSQLite", "CZstd"]),
        .testTarget(name: "ObservabilityTests", dependencies: [
            "Observability", .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "TrackModel", "Codecs", "Observability",
                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "StagesTests", dependencies: ["TestSupport", "Synthetic", "Stages", "Pipeline", "TrackModel", "Codecs", "Recording", "MCAP", "Rosbag2", "DataTracks", "LiveKitProtocol", "RoomClient"]),
    ]
)

// The libFuzzer driver (docs/FUZZING.md): declared only when TRACKBAG_FUZZ=1, because it must be
// built with -sanitize=fuzzer,address into its own build directory (scripts/fuzz.sh does both).
if let flag = getenv("TRACKBAG_FUZZ"), String(cString: flag) == "1" {
    package.products.append(.executable(name: "trackbag-fuzz", targets: ["trackbag-fuzz"]))
    package.targets.append(.target(name: "FuzzDriver", path: "Tests/FuzzDriver"))
    package.targets.append(.executableTarget(name: "trackbag-fuzz", dependencies: [
        "FuzzDriver", "Codecs", "TrackModel", "DataTracks", "WebRTCData", "LiveKitProtocol", "Recording", "MCAP", "Rosbag2", "Pipeline", "Stages",
        "RoomServer", .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ], path: "Tests/Fuzz", exclude: ["corpus", "regressions"]))
}
