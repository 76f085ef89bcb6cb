import CKernels

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

        /// Floats in [0, 1] as a uint8 dataset stores them: clamped (NaN to 0), times 255,
        /// rounded half away from zero. For a caller whose floats live in its own storage and
        /// whose file stores 8 bits: one pass, instead of a copy into ``float(_:)`` that the
        /// writer converts later.
        public static func eightBit(_ values: UnsafeBufferPointer<Float>) -> Pixels {
            .uint8(eightBitValues(values))
        }

        /// The bytes of ``eightBit(_:)``; the writer converts float frames with it too.
        static func eightBitValues(_ values: UnsafeBufferPointer<Float>) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: values.count) { out, count in
                ck_unit_f32_to_u8_half_away(values.baseAddress, out.baseAddress, values.count)
                count = values.count
            }
        }

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
