/// The size of a spike sensor frame.
///
/// A `.dat` frame stores one bit per pixel, so `height * width` must be a multiple of 8.
public struct SpikeGeometry: Sendable, Hashable, CustomStringConvertible {
    /// Rows of a decoded frame.
    public let height: Int
    /// Columns of a decoded frame.
    public let width: Int

    /// The largest side accepted (sensors are a few hundred pixels; this keeps every size
    /// product far from overflow).
    public static let maximumSide = 1 << 16

    /// Creates a geometry, checking each side is in `1...maximumSide` and that a frame fills
    /// whole bytes.
    /// - Throws: ``SpikeError/invalidGeometry(height:width:)``.
    public init(height: Int, width: Int) throws(SpikeError) {
        guard (1...Self.maximumSide).contains(height), (1...Self.maximumSide).contains(width),
            (height * width) % 8 == 0
        else {
            throw .invalidGeometry(height: height, width: width)
        }
        self.height = height
        self.width = width
    }

    /// Pixels per frame.
    public var pixelCount: Int { height * width }
    /// Bytes per bit-packed frame.
    public var bytesPerFrame: Int { height * width / 8 }

    public var description: String { "\(height)x\(width)" }
}
