/// One deblurred frame and what the sink stores beside it.
///
/// Images are row major: colour images HWC with 3 channels, `spikeRecon` HW. Float pixels are
/// in [0, 1] (clamped when stored as uint8).
public struct RecordedFrame: Sendable {
    /// Pixel data of one image.
    public enum Pixels: Sendable {
        /// Floats in [0, 1].
        case float([Float])
        /// 8-bit values (0...255 stands for [0, 1]).
        case uint8([UInt8])

        var count: Int {
            switch self {
            case .float(let v): v.count
            case .uint8(let v): v.count
            }
        }
    }

    /// The deblurred frame, H x W x 3.
    public var sharp: Pixels
    /// Spike reconstruction (TFI), H x W; stored when the writer has `/spike_recon`.
    public var spikeRecon: Pixels?
    /// A quick preview deblur, H x W x 3; stored when the writer has `/quick_sharp`.
    public var quickSharp: Pixels?
    /// The blurred input, H x W x 3; stored when the writer has `/blur`.
    public var blur: Pixels?
    /// Exposure start in nanoseconds on the stream's clock.
    public var exposureStartNanoseconds: Int64
    /// Exposure end in nanoseconds on the stream's clock.
    public var exposureEndNanoseconds: Int64
    /// Index of the spike plane at the exposure centre.
    public var spikeCenterIndex: Int64
    /// The frame's id from the source.
    public var frameID: Int64
    /// Time from input arrival to the deblurred output.
    public var latency: Duration

    /// Creates a frame; see the properties.
    public init(
        sharp: Pixels, spikeRecon: Pixels? = nil, quickSharp: Pixels? = nil, blur: Pixels? = nil,
        exposureStartNanoseconds: Int64 = 0, exposureEndNanoseconds: Int64 = 0, spikeCenterIndex: Int64 = 0,
        frameID: Int64 = 0, latency: Duration = .zero
    ) {
        self.sharp = sharp
        self.spikeRecon = spikeRecon
        self.quickSharp = quickSharp
        self.blur = blur
        self.exposureStartNanoseconds = exposureStartNanoseconds
        self.exposureEndNanoseconds = exposureEndNanoseconds
        self.spikeCenterIndex = spikeCenterIndex
        self.frameID = frameID
        self.latency = latency
    }
}

/// A failure of the recording sink: bad input, or an HDF5 / file-system error while writing.
public struct RecordingError: Error, CustomStringConvertible, Sendable {
    /// The file the writer writes or the reader reads.
    public let file: String
    /// What the sink was doing, e.g. `"append frame 12"` or `"create file"`.
    public let stage: String
    /// The problem, including HDF5's message where there is one.
    public let message: String
    /// Frames completely written to the file when the error happened.
    public let framesWritten: Int

    /// Creates an error.
    public init(file: String, stage: String, message: String, framesWritten: Int = 0) {
        self.file = file
        self.stage = stage
        self.message = message
        self.framesWritten = framesWritten
    }

    public var description: String {
        "recording \(file): \(stage): \(message)"
    }
}
