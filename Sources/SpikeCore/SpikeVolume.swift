/// Decoded binary spikes, shape `[T, H, W]`: one `UInt8` (0 or 1) per pixel, row-major,
/// rows in display order (after the vertical flip of the stored layout).
public struct SpikeVolume: Sendable, Equatable {
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Number of frames `T`.
    public let frameCount: Int
    /// The values, `T * H * W` of them, each 0 or 1.
    public private(set) var values: [UInt8]

    /// Creates a volume; any nonzero value counts as a spike (stored as 1).
    /// - Throws: `SpikeError.invalidArgument` when `values.count != frameCount * H * W`.
    public init(geometry: SpikeGeometry, frameCount: Int, values: [UInt8]) throws(SpikeError) {
        guard frameCount >= 0, values.count == frameCount * geometry.pixelCount else {
            throw .invalidArgument(
                field: "spike volume values",
                problem: "\(values.count) values do not fill \(frameCount) frames of \(geometry)")
        }
        self.geometry = geometry
        self.frameCount = frameCount
        self.values = values.contains(where: { $0 > 1 }) ? values.map { $0 == 0 ? 0 : 1 } : values
    }

    /// An all-zero volume.
    public init(geometry: SpikeGeometry, frameCount: Int) {
        precondition(frameCount >= 0, "negative frame count")
        self.geometry = geometry
        self.frameCount = frameCount
        self.values = [UInt8](repeating: 0, count: frameCount * geometry.pixelCount)
    }

    /// Internal: values already known to be 0/1 and of the right count.
    init(uncheckedGeometry geometry: SpikeGeometry, frameCount: Int, values: [UInt8]) {
        self.geometry = geometry
        self.frameCount = frameCount
        self.values = values
    }

    /// The spike at frame `t`, display row `y`, column `x` (0 or 1). Setting stores
    /// 1 for any nonzero value.
    public subscript(t: Int, y: Int, x: Int) -> UInt8 {
        get {
            precondition(y >= 0 && y < geometry.height && x >= 0 && x < geometry.width, "pixel (\(y), \(x)) outside \(geometry)")
            return values[(t * geometry.height + y) * geometry.width + x]
        }
        set {
            precondition(y >= 0 && y < geometry.height && x >= 0 && x < geometry.width, "pixel (\(y), \(x)) outside \(geometry)")
            values[(t * geometry.height + y) * geometry.width + x] = newValue == 0 ? 0 : 1
        }
    }

    /// The values as `Float` (0 or 1), shape `[T, H, W]`, row-major; the model's spike input.
    public func floats() -> [Float] {
        values.map { Float($0) }
    }

    /// Frames `range` as a new volume.
    public func frames(_ range: Range<Int>) -> SpikeVolume {
        precondition(range.lowerBound >= 0 && range.upperBound <= frameCount, "frame range \(range) outside 0..<\(frameCount)")
        let pixels = geometry.pixelCount
        return SpikeVolume(
            uncheckedGeometry: geometry, frameCount: range.count,
            values: Array(values[(range.lowerBound * pixels)..<(range.upperBound * pixels)]))
    }

    /// Packs into the `.dat` layout; the exact inverse of `PackedSpikeFrames.unpacked()`.
    public func packed() -> PackedSpikeFrames {
        let byteCount = frameCount * geometry.bytesPerFrame
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            values.withUnsafeBufferPointer { src in
                if frameCount > 0, let base = src.baseAddress, let dst = buffer.baseAddress {
                    DatCodec.encodeFrames(source: base, frameCount: frameCount, geometry: geometry, destination: dst)
                }
            }
            initialized = byteCount
        }
        return PackedSpikeFrames(uncheckedGeometry: geometry, bytes: bytes)
    }
}
