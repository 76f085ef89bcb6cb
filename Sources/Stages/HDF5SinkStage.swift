import Foundation
import Pipeline
import Recording
import Tensor

/// `hdf5-sink`: writes deblurred frames with the Recording schema (docs/hdf5.md). The file
/// is always finished (valid, with every accepted frame), also when the pipeline stops.
struct HDF5SinkStage: Stage {
    let path: String
    let options: Options
    let metadata: RecordingMetadata

    struct Options: Sendable {
        var pixelType: PixelType
        var compression: Compression
        var swmr: Bool
        var flushEvery: Int
        var extras: Set<ImageDataset>
    }

    static let kind = StageKind(
        name: "hdf5-sink", summary: "writes deblurred frames to HDF5 (schema: docs/hdf5.md)",
        parameters: [
            ParameterSpec("path", .path, "output .h5 file (replaced)"),
            ParameterSpec(
                "dtype", .choice(["uint8", "float16", "float32"]), default: .string("uint8"),
                "pixel type of image datasets"),
            ParameterSpec(
                "compression", .choice(["deflate", "bitshuffle-lz4", "none"]), default: .string("deflate"),
                "chunk compression"),
            ParameterSpec("swmr", .bool, default: .bool(true), "single-writer/multiple-reader mode for live readers"),
            ParameterSpec("flush_every", .int(1...100_000), default: .int(1), "flush every K frames"),
            ParameterSpec("store_blur", .bool, default: .bool(false), "also store the blurry input as /blur"),
            ParameterSpec("store_recon", .bool, default: .bool(true), "store /spike_recon when the method makes one"),
            ParameterSpec("store_quick", .bool, default: .bool(false), "store /quick_sharp when the method makes one"),
            ParameterSpec("model_name", .string, default: .string(""), "recorded in the root attributes"),
            ParameterSpec("weights", .path, optional: true, "weights file whose SHA-256 is recorded"),
            ParameterSpec("sensor_height", .int(0...100_000), default: .int(0), "recorded in the root attributes"),
            ParameterSpec("sensor_width", .int(0...100_000), default: .int(0), "recorded in the root attributes"),
            ParameterSpec(
                "rate_hz", .double(0...10_000_000), default: .double(20_000), "recorded in the root attributes"),
        ],
        inputs: [PortSpec("frames", Ports.deblurred)], outputs: [],
        make: { p, env in
            var extras: Set<ImageDataset> = []
            if p.bool("store_blur") == true { extras.insert(.blur) }
            if p.bool("store_recon") == true { extras.insert(.spikeRecon) }
            if p.bool("store_quick") == true { extras.insert(.quickSharp) }
            let compression: Compression =
                switch p.string("compression") {
                case "bitshuffle-lz4": .bitshuffleLZ4
                case "none": .none
                default: .deflate(level: 1)
                }
            var sha = ""
            if let w = p.string("weights") { sha = (try? StateDictSHA.of(w)) ?? "" }
            let meta = RecordingMetadata(
                softwareVersion: SoftwareVersion.string, modelName: p.string("model_name") ?? "", weightsSHA256: sha,
                modelConfigJSON: "{}", pipelineText: env.descriptionText, sensorHeight: p.int("sensor_height") ?? 0,
                sensorWidth: p.int("sensor_width") ?? 0, spikeRateHz: p.double("rate_hz") ?? 0)
            return HDF5SinkStage(
                path: p.string("path") ?? "out.h5",
                options: Options(
                    pixelType: PixelType(rawValue: p.string("dtype") ?? "uint8") ?? .uint8, compression: compression,
                    swmr: p.bool("swmr") ?? true, flushEvery: p.int("flush_every") ?? 1, extras: extras),
                metadata: meta)
        })

    func run(_ context: StageContext) async throws {
        var writer: SequenceWriter?
        var stored = Set<ImageDataset>()
        var failure: (any Error)?
        var size: (height: Int, width: Int)?
        do {
            while let f = try await context.receive("frames", as: DeblurredFrame.self) {
                // On arrival, like every later frame: the first one's file creation below is
                // the sink's own start-up, not time the frame spent in the pipeline.
                let latency = context.clock.now() - f.ingestedAt
                if let size, size != (f.sharp.height, f.sharp.width) {
                    // A source restarted with another geometry: the file's shape is fixed.
                    context.metrics.count("dropped-shape-mismatch")
                    continue
                }
                if writer == nil {
                    size = (f.sharp.height, f.sharp.width)
                    stored = options.extras.filter { d in
                        switch d {
                        case .spikeRecon: f.spikeRecon != nil
                        case .quickSharp: f.quickSharp != nil
                        default: true
                        }
                    }
                    var meta = metadata
                    // The frames say which model made them, unless the file's settings do.
                    if meta.modelName.isEmpty { meta.modelName = f.model.name }
                    if meta.weightsSHA256.isEmpty { meta.weightsSHA256 = f.model.weightsSHA256 }
                    if meta.modelConfigJSON == "{}" { meta.modelConfigJSON = f.model.configJSON }
                    if meta.sensorHeight == 0 {
                        meta.sensorHeight = f.sharp.height / 2; meta.sensorWidth = f.sharp.width / 2
                    }
                    writer = try SequenceWriter(
                        url: URL(fileURLWithPath: path),
                        options: SequenceWriter.Options(
                            height: f.sharp.height, width: f.sharp.width, optionalDatasets: stored,
                            pixelType: options.pixelType,
                            compression: options.compression, swmr: options.swmr, flushEvery: options.flushEvery,
                            metadata: meta))
                }
                // 8-bit files take the 8-bit values straight from the maps' storage (one pass
                // instead of a float copy that the writer converts later; the same bytes).
                let eightBit = options.pixelType == .uint8
                let pixels = { (map: FeatureMap) -> RecordedFrame.Pixels in
                    eightBit ? map.data.withUnsafeBufferPointer(RecordedFrame.Pixels.eightBit) : .float(map.data.array)
                }
                try await context.busy {
                    try await writer?.append(
                        RecordedFrame(
                            sharp: pixels(f.sharp),
                            spikeRecon: stored.contains(.spikeRecon) ? f.spikeRecon.map(pixels) : nil,
                            quickSharp: stored.contains(.quickSharp) ? f.quickSharp.map(pixels) : nil,
                            blur: stored.contains(.blur) ? pixels(f.blur) : nil,
                            exposureStartNanoseconds: f.exposureStart, exposureEndNanoseconds: f.exposureEnd,
                            spikeCenterIndex: Int64(f.centerIndex), frameID: Int64(f.frameID), latency: latency))
                }
                context.pipelineMetrics.latency.record(latency)
            }
        } catch {
            failure = error
        }
        // A run that ends before its first frame (Ctrl-C, no data) still leaves a valid file
        // with its attributes and zero frames.
        if writer == nil && failure == nil {
            do {
                let (h, w) =
                    metadata.sensorHeight > 0 && metadata.sensorWidth > 0
                    ? (2 * metadata.sensorHeight, 2 * metadata.sensorWidth) : (1, 1)
                writer = try SequenceWriter(
                    url: URL(fileURLWithPath: path),
                    options: SequenceWriter.Options(
                        height: h, width: w, pixelType: options.pixelType, compression: options.compression,
                        swmr: options.swmr, flushEvery: options.flushEvery, metadata: metadata))
            } catch {
                failure = error
            }
        }
        // Always close the file valid, with every accepted frame.
        if let writer {
            do { _ = try await writer.finish() } catch { if failure == nil { failure = error } }
        }
        if let failure { throw failure }
    }
}
