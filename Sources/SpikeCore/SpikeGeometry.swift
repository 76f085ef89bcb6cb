/// The size of a spike sensor frame.
///
/// A `.dat` frame stores one bit per pixel, so `height * width` must be a multiple of 8.
public struct SpikeGeometry: Sendable, Hashable, CustomStringConvertible {
    /// Rows of a decoded frame.
    public let height: Int
    /// Columns of a decoded frame.
    public let width: Int

    /// Creates a geometry, checking that a frame fills whole bytes.
    /// - Throws: ``SpikeError/invalidGeometry(height:width:)``.
    public init(height: Int, width: Int) throws(SpikeError) {
        guard height > 0, width > 0, (height * width) % 8 == 0 else {
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
