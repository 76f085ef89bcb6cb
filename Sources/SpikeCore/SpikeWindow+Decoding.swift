extension PackedSpikeFrames {
    /// Decodes only frames `range` (the window the model sees), leaving the rest packed.
    /// - Precondition: `range` lies inside `0..<count`.
    public func unpacked(range: Range<Int>) -> SpikeVolume {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "frame range \(range) outside 0..<\(count)")
        let n = geometry.bytesPerFrame
        return DatCodec.decode(packed: bytes[(range.lowerBound * n)..<(range.upperBound * n)], geometry: geometry)
    }
}

extension PackedSpikeFrames {
    /// Decodes frames `range` into `values` (`[T, H, W]` 0/1 bytes, display order), reusing
    /// its storage: the allocation-free form of `unpacked(range:)` for streaming loops.
    /// - Precondition: `range` lies inside `0..<count`.
    public func unpack(_ range: Range<Int>, into values: inout [UInt8]) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "frame range \(range) outside 0..<\(count)")
        let total = range.count * geometry.pixelCount
        if values.count != total {
            values.removeAll(keepingCapacity: true)
            values.append(contentsOf: repeatElement(0, count: total))
        }
        guard total > 0 else { return }
        bytes.withUnsafeBytes { raw in
            values.withUnsafeMutableBufferPointer { out in
                if let src = raw.baseAddress, let dst = out.baseAddress {
                    DatCodec.decodeFrames(
                        source: src + range.lowerBound * geometry.bytesPerFrame, frameCount: range.count,
                        geometry: geometry, destination: dst)
                }
            }
        }
    }
}

extension SpikeVolume {
    /// Frames `range` as a new volume.
    /// - Precondition: `range` lies inside `0..<frameCount`.
    public func frames(_ range: Range<Int>) -> SpikeVolume {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= frameCount, "frame range \(range) outside 0..<\(frameCount)")
        let pixels = geometry.pixelCount
        return SpikeVolume(
            unchecked: geometry, frameCount: range.count,
            values: Array(values[(range.lowerBound * pixels)..<(range.upperBound * pixels)]))
    }
}

extension SpikeWindow {
    /// The centre frame the reference Spk-GoPro loader uses for a per-image stream of
    /// `frameCount` frames: `frameCount / 2` (it takes frames `n/2 - 28 ..< n/2 + 28` for T = 56).
    public static func centralFrame(frameCount: Int) -> Int {
        frameCount / 2
    }

    /// The `length` frames around the middle of `frames`, still packed.
    /// - Throws: ``SpikeError/rangeOutOfBounds(what:requested:available:)`` when the stream is
    ///   shorter than `length`.
    public static func central(_ frames: PackedSpikeFrames, length: Int) throws(SpikeError) -> PackedSpikeFrames {
        try cut(frames, center: centralFrame(frameCount: frames.count), length: length)
    }
}

extension PackedSpikeFrames {
    /// True when there are no frames.
    public var isEmpty: Bool { bytes.isEmpty }
}

extension SpikeGeometry {
    /// The real spike camera: 250 rows of 400 pixels (pairs with 500x800 RGB frames).
    public static let camera250x400 = SpikeGeometry(known: 250, 400)
    /// The Spk-GoPro spike resolution: 360 rows of 640 pixels (half of 720x1280).
    public static let goPro = SpikeGeometry(known: 360, 640)

    /// Sizes known to be valid (H*W a positive multiple of 8).
    init(known height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }
}
