/// Spike frames kept bit-packed in the exact `.dat` byte layout (see `DatCodec`).
///
/// Frames stay packed (one bit per pixel) until a window is cut and decoded with
/// `unpacked(range:)`.
public struct PackedSpikeFrames: Sendable, Equatable {
    /// The frame size.
    public let geometry: SpikeGeometry
    /// Raw bytes, `count * geometry.bytesPerFrame` of them, stored layout.
    public private(set) var bytes: [UInt8]

    /// Number of frames.
    public var count: Int { bytes.count / geometry.bytesPerFrame }
    /// True when there are no frames.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Wraps raw `.dat` bytes.
    /// - Throws: `SpikeError.byteCountMismatch` when `bytes.count` is not a whole number of frames.
    public init(geometry: SpikeGeometry, bytes: [UInt8]) throws(SpikeError) {
        guard bytes.count % geometry.bytesPerFrame == 0 else {
            throw .byteCountMismatch(
                context: "packed spike frames", byteCount: bytes.count, bytesPerFrame: geometry.bytesPerFrame)
        }
        self.geometry = geometry
        self.bytes = bytes
    }

    /// An empty stream of the given frame size.
    public init(geometry: SpikeGeometry) {
        self.geometry = geometry
        self.bytes = []
    }

    /// Internal: bytes already known to be whole frames.
    init(uncheckedGeometry geometry: SpikeGeometry, bytes: [UInt8]) {
        self.geometry = geometry
        self.bytes = bytes
    }

    /// Frame `index` alone.
    /// - Precondition: `0 <= index < count`.
    public func frame(at index: Int) -> PackedSpikeFrames {
        slice(index..<(index + 1))
    }

    /// Frames `range`, still packed.
    /// - Precondition: `range` lies inside `0..<count`.
    public func slice(_ range: Range<Int>) -> PackedSpikeFrames {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "frame range \(range) outside 0..<\(count)")
        let bpf = geometry.bytesPerFrame
        return PackedSpikeFrames(
            uncheckedGeometry: geometry, bytes: Array(bytes[(range.lowerBound * bpf)..<(range.upperBound * bpf)]))
    }

    /// Appends the frames of `other`.
    /// - Precondition: both have the same geometry.
    public mutating func append(contentsOf other: PackedSpikeFrames) {
        precondition(other.geometry == geometry, "appending \(other.geometry) frames to a \(geometry) stream")
        bytes.append(contentsOf: other.bytes)
    }

    /// Decodes every frame.
    public func unpacked() -> SpikeVolume {
        unpacked(range: 0..<count)
    }

    /// Decodes frames `range` into a volume in display row order.
    /// - Precondition: `range` lies inside `0..<count`.
    public func unpacked(range: Range<Int>) -> SpikeVolume {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "frame range \(range) outside 0..<\(count)")
        let pixels = geometry.pixelCount
        let frames = range.count
        let values = [UInt8](unsafeUninitializedCapacity: frames * pixels) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                if frames > 0, let base = raw.baseAddress, let dst = buffer.baseAddress {
                    DatCodec.decodeFrames(
                        source: base + range.lowerBound * geometry.bytesPerFrame, frameCount: frames,
                        geometry: geometry, destination: dst)
                }
            }
            initialized = frames * pixels
        }
        return SpikeVolume(uncheckedGeometry: geometry, frameCount: frames, values: values)
    }

    /// Number of spikes (set bits) in frames `range`.
    public func spikeCount(range: Range<Int>? = nil) -> Int {
        let frames = range ?? 0..<count
        precondition(frames.lowerBound >= 0 && frames.upperBound <= count, "frame range \(frames) outside 0..<\(count)")
        let bpf = geometry.bytesPerFrame
        var total = 0
        for byte in bytes[(frames.lowerBound * bpf)..<(frames.upperBound * bpf)] {
            total += byte.nonzeroBitCount
        }
        return total
    }
}
