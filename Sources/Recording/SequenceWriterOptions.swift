import Foundation

/// Image datasets of a recording file.
public enum ImageDataset: String, CaseIterable, Sendable, Hashable {
    /// `/sharp`, [N, H, W, 3]: the deblurred frames (always present).
    case sharp = "sharp"
    /// `/spike_recon`, [N, H, W]: the spike reconstruction.
    case spikeRecon = "spike_recon"
    /// `/quick_sharp`, [N, H, W, 3]: a quick preview deblur.
    case quickSharp = "quick_sharp"
    /// `/blur`, [N, H, W, 3]: a copy of the blurred input.
    case blur = "blur"

    /// Channels per pixel: 1 for `/spike_recon`, else 3.
    public var channels: Int { self == .spikeRecon ? 1 : 3 }
}

/// Element types of stored images.
public enum PixelType: String, Sendable, CaseIterable {
    /// 0...255 for [0, 1] (the default).
    case uint8
    /// IEEE half floats in [0, 1].
    case float16
    /// IEEE single floats in [0, 1].
    case float32

    var size: Int {
        switch self {
        case .uint8: 1
        case .float16: 2
        case .float32: 4
        }
    }
}

/// Text and numbers written as root attributes of a recording.
public struct RecordingMetadata: Sendable, Equatable {
    /// `software_version`.
    public var softwareVersion: String
    /// `model_name`.
    public var modelName: String
    /// `weights_sha256` (hex).
    public var weightsSHA256: String
    /// `model_config`: the model configuration as JSON text.
    public var modelConfigJSON: String
    /// `pipeline`: the pipeline file's text.
    public var pipelineText: String
    /// `sensor_size`: [height, width] of the spike sensor.
    public var sensorHeight: Int
    /// See ``sensorHeight``.
    public var sensorWidth: Int
    /// `spike_rate_hz`: spike planes per second.
    public var spikeRateHz: Double
    /// Further string attributes, written as given.
    public var extra: [String: String]

    /// Creates metadata; every field has an empty default.
    public init(
        softwareVersion: String = "", modelName: String = "", weightsSHA256: String = "",
        modelConfigJSON: String = "{}", pipelineText: String = "", sensorHeight: Int = 0, sensorWidth: Int = 0,
        spikeRateHz: Double = 0, extra: [String: String] = [:]
    ) {
        self.softwareVersion = softwareVersion
        self.modelName = modelName
        self.weightsSHA256 = weightsSHA256
        self.modelConfigJSON = modelConfigJSON
        self.pipelineText = pipelineText
        self.sensorHeight = sensorHeight
        self.sensorWidth = sensorWidth
        self.spikeRateHz = spikeRateHz
        self.extra = extra
    }
}

extension SequenceWriter {
    /// What a ``SequenceWriter`` stores and how.
    public struct Options: Sendable {
        /// Image height in pixels.
        public var height: Int
        /// Image width in pixels.
        public var width: Int
        /// Optional image datasets to create besides `/sharp`.
        public var optionalDatasets: Set<ImageDataset>
        /// Element type of every image dataset.
        public var pixelType: PixelType
        /// Compression of every image dataset not in ``compressionOverrides``.
        public var compression: Compression
        /// Per-dataset compression.
        public var compressionOverrides: [ImageDataset: Compression]
        /// Write the file for single-writer/multiple-reader access. SWMR files are written
        /// under their final name, so that live readers can open them; without SWMR the file
        /// is written under a temporary name in the same folder and renamed over the target
        /// when it closes (an existing file is replaced only by a complete one).
        public var swmr: Bool
        /// Flush the file after every this many frames (>= 1): SWMR readers see frames at
        /// flushes, and after a write error the file keeps the frames of the last flush.
        public var flushEvery: Int
        /// Root attributes.
        public var metadata: RecordingMetadata
        /// Frames accepted by ``SequenceWriter/append(_:)`` but not yet written, before
        /// `append` waits (>= 1). Default: 2 per core plus 2.
        public var maxFramesInFlight: Int

        /// Creates options for `height` x `width` frames; the rest as documented.
        public init(
            height: Int, width: Int, optionalDatasets: Set<ImageDataset> = [], pixelType: PixelType = .uint8,
            compression: Compression = .default, compressionOverrides: [ImageDataset: Compression] = [:],
            swmr: Bool = false, flushEvery: Int = 1, metadata: RecordingMetadata = RecordingMetadata(),
            maxFramesInFlight: Int? = nil
        ) {
            self.height = height
            self.width = width
            self.optionalDatasets = optionalDatasets
            self.pixelType = pixelType
            self.compression = compression
            self.compressionOverrides = compressionOverrides
            self.swmr = swmr
            self.flushEvery = flushEvery
            self.metadata = metadata
            self.maxFramesInFlight = maxFramesInFlight ?? (2 * ProcessInfo.processInfo.activeProcessorCount + 2)
        }

        /// The image datasets in file order: `/sharp` first.
        var imageDatasets: [ImageDataset] {
            ImageDataset.allCases.filter { $0 == .sharp || optionalDatasets.contains($0) }
        }

        func compression(for dataset: ImageDataset) -> Compression {
            compressionOverrides[dataset] ?? compression
        }
    }

    /// What ``SequenceWriter/finish()`` reports.
    public struct Summary: Sendable {
        /// The file written.
        public var path: String
        /// Frames written.
        public var frames: Int
        /// Bytes stored per image dataset (after compression).
        public var storedBytes: [ImageDataset: Int]
        /// Bytes per image dataset before compression.
        public var rawBytes: [ImageDataset: Int]
    }
}
