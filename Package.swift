// swift-tools-version:6.0
import PackageDescription

// Targets point one way: C shims -> thin wrappers -> core -> runtime -> stages -> CLI.
let package = Package(
    name: "spkdeblur",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spkdeblur", targets: ["spkdeblur"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // The browser viewer's HTTP server (NIO only, no framework: see docs/pipelines.md "Viewer").
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // MARK: C shims (system libraries)
        .systemLibrary(
            name: "CHDF5", path: "Sources/Shims/CHDF5", pkgConfig: "hdf5-serial",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CZeroMQ", path: "Sources/Shims/CZeroMQ", pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/Shims/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CImageCodecs", path: "Sources/Shims/CImageCodecs", pkgConfig: "libpng16",
            providers: [.apt(["libpng-dev", "libturbojpeg0-dev"])]),

        .systemLibrary(
            name: "CCompression", path: "Sources/Shims/CCompression", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev", "liblz4-dev"])]),

        // MARK: thin wrappers
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(name: "Imaging", dependencies: ["CKernels"]),
        .target(name: "ImageCodecs", dependencies: ["Imaging", "CImageCodecs"]),

        // MARK: core
        .target(name: "SpikeCore"),
        .target(name: "Metrics"),
        // The numeric kernels are compiled optimised even in debug builds: unoptimised SIMD
        // code is ~50x slower, which would make the model tests crawl.
        .target(
            name: "Tensor", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: [.unsafeFlags(["-O"])]),
        // C SIMD kernels (AVX-512 BF16 GEMM) with per-function target attributes and runtime
        // CPU checks, so the binary still runs on CPUs without those instructions.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Checkpoint"),
        .target(name: "SpkDeblurNet", dependencies: ["Tensor", "Checkpoint"]),
        // Trained models assembled into the binary (.incbin), so it runs wherever it is copied.
        .target(name: "CModelResources", exclude: ["models"], cSettings: [.headerSearchPath("models")]),
        .target(name: "ModelCatalog", dependencies: ["CModelResources", "Checkpoint", "SpkDeblurNet"]),
        .target(name: "Datasets", dependencies: ["SpikeCore", "Imaging", "ImageCodecs"]),
        .target(
            name: "Deblur",
            dependencies: ["SpkDeblurNet", "ModelCatalog", "Tensor", "Checkpoint", "SpikeCore", "Imaging"]),
        .target(
            name: "DeblurEvaluation",
            dependencies: ["Deblur", "Datasets", "Metrics", "Imaging", "ImageCodecs", "SpikeCore", "Tensor"]),
        .target(name: "WireProtocol", dependencies: ["SpikeCore"]),
        .target(name: "Recording", dependencies: ["HDF5", "CCompression", "Imaging", "CKernels"]),

        // MARK: runtime and stages
        .target(
            name: "Pipeline",
            dependencies: [
                "Yams",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        // The browser viewer: an HTTP server on its own NIO event loop, the page, latest-frame slots.
        .target(
            name: "Viewer",
            dependencies: [
                "Imaging", "ImageCodecs", "Recording",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(
            name: "Stages",
            dependencies: [
                "Viewer", "Pipeline", "SpikeCore", "Imaging", "ImageCodecs", "Datasets", "HDF5", "ZeroMQ",
                "WireProtocol", "Recording", "Deblur", "SpkDeblurNet", "Checkpoint", "Tensor", "Metrics",
            ]),
        // The `spkdeblur bench` measurements (they report lines; the command prints them).
        .target(
            name: "Benchmarks",
            dependencies: [
                "Stages", "Pipeline", "SpikeCore", "Imaging", "ImageCodecs", "WireProtocol", "ZeroMQ", "Recording",
                "SpkDeblurNet", "Tensor",
            ]),

        // MARK: CLI
        .executableTarget(
            name: "spkdeblur",
            dependencies: [
                "Stages", "Pipeline", "SpikeCore", "Imaging", "ImageCodecs", "Datasets", "HDF5", "ZeroMQ",
                "WireProtocol", "Recording", "Deblur", "DeblurEvaluation", "SpkDeblurNet", "Checkpoint", "Tensor",
                "Metrics",
                "ModelCatalog", "Viewer", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: tests, one per module (plus shared helpers for running the Python peers)
        .target(name: "TestSupport", dependencies: ["SpikeCore"], path: "Tests/TestSupport"),
        .testTarget(
            name: "SpikeCoreTests", dependencies: ["SpikeCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HDF5Tests", dependencies: ["TestSupport", "HDF5"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["TestSupport", "ZeroMQ", "WireProtocol", "SpikeCore"]),
        .testTarget(
            name: "ImagingTests", dependencies: ["Imaging", "ImageCodecs", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(
            name: "CheckpointTests", dependencies: ["Checkpoint", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "SpkDeblurNetTests", dependencies: ["SpkDeblurNet", "Checkpoint", "Tensor"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "DeblurTests", dependencies: ["Deblur", "SpikeCore", "Tensor", "Imaging"]),
        .testTarget(
            name: "DeblurEvaluationTests",
            dependencies: ["DeblurEvaluation", "Deblur", "SpikeCore", "Tensor", "Imaging", "ImageCodecs"]),
        .testTarget(
            name: "ModelCatalogTests", dependencies: ["ModelCatalog", "Checkpoint", "SpkDeblurNet", "Tensor"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "SpikeCore", "Imaging", "ImageCodecs"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "SpikeCore"]),
        .testTarget(name: "RecordingTests", dependencies: ["TestSupport", "Recording", "HDF5"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline"]),
        .testTarget(
            name: "StagesTests",
            dependencies: [
                "Stages", "Checkpoint", "Pipeline", "SpikeCore", "HDF5", "ZeroMQ", "Imaging", "ImageCodecs", "Tensor",
                "TestSupport",
            ]),
        .testTarget(name: "ViewerTests", dependencies: ["Viewer", "Imaging", "ImageCodecs", "Recording", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "spkdeblur", "Tensor"]),
    ]
)
