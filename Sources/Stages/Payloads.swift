import Imaging
import Pipeline
import SpikeCore
import Tensor

/// Port types of the standard stages.
public enum Ports {
    /// ``SpikeBatch`` values.
    public static let spikes = PortType("spike-frames")
    /// ``RGBFrame`` values.
    public static let rgb = PortType("rgb-frames")
    /// ``ExposureWindow`` values.
    public static let windows = PortType("exposure-windows")
    /// ``FusedExposure`` values.
    public static let fused = PortType("fused-exposures")
    /// ``DeblurredFrame`` values.
    public static let deblurred = PortType("deblurred-frames")
}

/// Consecutive spike frames of the stream, `firstIndex` being the global index of the first.
///
/// `stream` identifies the source's run (the wire protocol's stream id; 0 for files): a new
/// value, or a first index going backwards, restarts the spike clock downstream.
/// `rateHz` is the source's spike rate when it knows one (the wire header's, or a file
/// stage's setting).
public struct SpikeBatch: Sendable, LatencyTracked {
    public var frames: PackedSpikeFrames
    public var firstIndex: Int
    public var ingestedAt: Duration
    public var stream: UInt32
    public var rateHz: Double?
    public init(
        frames: PackedSpikeFrames, firstIndex: Int, ingestedAt: Duration, stream: UInt32 = 0, rateHz: Double? = nil
    ) {
        self.frames = frames
        self.firstIndex = firstIndex
        self.ingestedAt = ingestedAt
        self.stream = stream
        self.rateHz = rateHz
    }
}

/// One RGB exposure: the image and its start/end on the spike clock (nanoseconds).
///
/// Sources guarantee `exposureStart <= exposureEnd`, both within +-(2^62 - 1) ns, so the
/// midpoint never overflows. `stream` is the source's run (wire stream id; 0 for folders).
public struct RGBFrame: Sendable, LatencyTracked {
    public var id: Int
    public var image: Image
    public var exposureStart: Int64
    public var exposureEnd: Int64
    public var ingestedAt: Duration
    public var stream: UInt32
    /// The exposure midpoint.
    public var midpoint: Int64 { exposureStart + (exposureEnd - exposureStart) / 2 }
    public init(
        id: Int, image: Image, exposureStart: Int64, exposureEnd: Int64, ingestedAt: Duration, stream: UInt32 = 0
    ) {
        self.id = id
        self.image = image
        self.exposureStart = exposureStart
        self.exposureEnd = exposureEnd
        self.ingestedAt = ingestedAt
        self.stream = stream
    }
}

/// The T spike frames centred on an exposure midpoint, with their TFI.
public struct ExposureWindow: Sendable, LatencyTracked {
    public var frameID: Int
    public var centerIndex: Int
    public var spikes: PackedSpikeFrames
    /// `middleTFI(window, T/2) / 0.5` (training convention), `[H*W]`.
    public var tfi: [Float]
    public var exposureStart: Int64
    public var exposureEnd: Int64
    public var ingestedAt: Duration
    public var midpoint: Int64 { exposureStart + (exposureEnd - exposureStart) / 2 }
    public init(
        frameID: Int, centerIndex: Int, spikes: PackedSpikeFrames, tfi: [Float], exposureStart: Int64,
        exposureEnd: Int64, ingestedAt: Duration
    ) {
        (self.frameID, self.centerIndex, self.spikes, self.tfi) = (frameID, centerIndex, spikes, tfi)
        (self.exposureStart, self.exposureEnd, self.ingestedAt) = (exposureStart, exposureEnd, ingestedAt)
    }
}

/// A window paired with its RGB frame, resized to exactly twice the spike resolution.
public struct FusedExposure: Sendable, LatencyTracked {
    public var window: ExposureWindow
    public var rgb: RGBFrame
    public var ingestedAt: Duration
    public init(window: ExposureWindow, rgb: RGBFrame, ingestedAt: Duration) {
        (self.window, self.rgb, self.ingestedAt) = (window, rgb, ingestedAt)
    }
}

/// A deblurred frame ready for sinks.
public struct DeblurredFrame: Sendable, LatencyTracked {
    public var frameID: Int
    public var sharp: FeatureMap
    public var spikeRecon: FeatureMap?
    public var quickSharp: FeatureMap?
    public var blur: FeatureMap
    public var centerIndex: Int
    public var exposureStart: Int64
    public var exposureEnd: Int64
    public var ingestedAt: Duration
    /// What produced the frame, recorded by sinks.
    public var model: ModelInfo
}

/// The deblur method behind a frame: name, config and weights fingerprint.
public struct ModelInfo: Sendable, Equatable {
    public var name: String
    public var configJSON: String
    public var weightsSHA256: String
    public init(name: String, configJSON: String = "{}", weightsSHA256: String = "") {
        self.name = name
        self.configJSON = configJSON
        self.weightsSHA256 = weightsSHA256
    }
}

/// A stage failure, one line naming the stage's resource and the problem.
public struct StageError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
