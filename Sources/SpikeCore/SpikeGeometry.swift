/// The size of one spike frame: `height` rows of `width` pixels.
///
/// Frames are bit-packed one bit per pixel, so `height * width` must be a positive
/// multiple of 8.
public struct SpikeGeometry: Sendable, Hashable, CustomStringConvertible {
    /// Rows per frame.
    public let height: Int
    /// Pixels per row.
    public let width: Int

    /// Pixels per frame, `height * width`.
    public var pixelCount: Int { height * width }
    /// Bytes per bit-packed frame, `height * width / 8`.
    public var bytesPerFrame: Int { height * width / 8 }

    /// Creates a frame size.
    /// - Throws: `SpikeError.invalidGeometry` when a side is not positive or when
    ///   `height * width` is not a multiple of 8.
    public init(height: Int, width: Int) throws(SpikeError) {
        guard height > 0, width > 0 else {
            throw .invalidGeometry(height: height, width: width, problem: "height and width must be positive")
        }
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard !overflow else {
            throw .invalidGeometry(height: height, width: width, problem: "pixel count overflows")
        }
        guard pixels % 8 == 0 else {
            throw .invalidGeometry(
                height: height, width: width,
                problem: "H*W = \(pixels) is not a multiple of 8, so frames cannot be bit-packed")
        }
        self.height = height
        self.width = width
    }

    /// The real spike camera: 250 rows of 400 pixels.
    public static let camera250x400 = SpikeGeometry(unchecked: 250, 400)
    /// The Spk-GoPro spike resolution: 360 rows of 640 pixels (half of 720x1280).
    public static let goPro = SpikeGeometry(unchecked: 360, 640)

    /// Known-good sizes only.
    private init(unchecked height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    public var description: String { "\(height)x\(width)" }
}
