/// Decoded binary spike frames, `[T, H, W]` row-major, rows in display order (after the
/// vertical flip of the stored stream), each value 0 or 1.
public struct SpikeVolume: Sendable, Equatable {
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Number of frames `T`.
    public let frameCount: Int
    /// `T * H * W` values, 0 or 1.
    public var values: [UInt8]

    /// Wraps decoded values.
    /// - Throws: ``SpikeError/malformedBuffer(field:size:frameBytes:)`` when the count is not
    ///   `T * H * W`.
    public init(geometry: SpikeGeometry, frameCount: Int, values: [UInt8]) throws(SpikeError) {
        guard values.count == frameCount * geometry.pixelCount else {
            throw .malformedBuffer(field: "spike volume", size: values.count, frameBytes: geometry.pixelCount)
        }
        self.geometry = geometry
        self.frameCount = frameCount
        self.values = values
    }

    init(unchecked geometry: SpikeGeometry, frameCount: Int, values: [UInt8]) {
        self.geometry = geometry
        self.frameCount = frameCount
        self.values = values
    }

    /// The spike at frame `t`, row `y`, column `x`.
    public subscript(t: Int, y: Int, x: Int) -> UInt8 {
        values[(t * geometry.height + y) * geometry.width + x]
    }

    /// The values as `Float` (0 or 1), `[T, H, W]`.
    public func floats() -> [Float] { values.map { Float($0) } }

    /// The frames re-encoded in `.dat` layout (exact inverse of decoding).
    public func packed() -> PackedSpikeFrames { DatCodec.encode(self) }
}
