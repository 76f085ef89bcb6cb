/// Spike frames kept bit-packed, byte for byte as in a `.dat` stream.
///
/// Layout: frames back to back, `geometry.bytesPerFrame` bytes each, no header. Bit `b`
/// (least significant first) of byte `k` is pixel `8k + b` in row-major order of the frame
/// as stored; the stored frame is upside down (decoded row `r` is stored row `H-1-r`).
/// Frames stay packed until a window is cut with ``unpacked()``.
public struct PackedSpikeFrames: Sendable, Equatable {
    /// The frame size.
    public let geometry: SpikeGeometry
    /// The packed bytes, `count * geometry.bytesPerFrame` of them.
    public private(set) var bytes: [UInt8]

    /// Wraps packed bytes.
    /// - Throws: ``SpikeError/malformedBuffer(field:size:frameBytes:)`` when `bytes` is not a
    ///   whole number of frames.
    public init(geometry: SpikeGeometry, bytes: [UInt8]) throws(SpikeError) {
        guard bytes.count % geometry.bytesPerFrame == 0 else {
            throw .malformedBuffer(field: "spike frames", size: bytes.count, frameBytes: geometry.bytesPerFrame)
        }
        self.geometry = geometry
        self.bytes = bytes
    }

    /// An empty sequence of frames.
    public init(geometry: SpikeGeometry) {
        self.geometry = geometry
        self.bytes = []
    }

    /// Number of frames.
    public var count: Int { bytes.count / geometry.bytesPerFrame }

    /// The packed bytes of frame `index`.
    public func frame(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "frame index \(index) out of 0..<\(count)")
        let n = geometry.bytesPerFrame
        return bytes[index * n..<(index + 1) * n]
    }

    /// Appends frames of the same geometry.
    public mutating func append(contentsOf other: PackedSpikeFrames) {
        precondition(other.geometry == geometry, "geometry mismatch \(other.geometry) vs \(geometry)")
        bytes.append(contentsOf: other.bytes)
    }

    /// Removes the first `k` frames.
    public mutating func removeFirst(_ k: Int) {
        precondition(k >= 0 && k <= count)
        bytes.removeFirst(k * geometry.bytesPerFrame)
    }

    /// The frames in `range`.
    /// - Throws: ``SpikeError/rangeOutOfBounds(what:requested:available:)``.
    public func slice(_ range: Range<Int>) throws(SpikeError) -> PackedSpikeFrames {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw .rangeOutOfBounds(what: "spike frames", requested: range, available: count)
        }
        let n = geometry.bytesPerFrame
        var out = PackedSpikeFrames(geometry: geometry)
        out.bytes = Array(bytes[range.lowerBound * n..<range.upperBound * n])
        return out
    }

    /// Decodes every frame.
    public func unpacked() -> SpikeVolume {
        DatCodec.decode(packed: bytes[...], geometry: geometry)
    }

    /// Decodes every frame into floats laid out channels-last, `height * width * count` of
    /// them at `destination`: `destination[(r * W + c) * count + t]` is 1 where frame `t` has a
    /// spike at decoded row `r`, column `c` (the model's input layout, without a frame-major
    /// copy to transpose).
    public func unpackChannelsLast(into destination: UnsafeMutablePointer<Float>) {
        let (h, w, t) = (geometry.height, geometry.width, count)
        let frameBytes = geometry.bytesPerFrame
        bytes.withUnsafeBufferPointer { src in
            guard let packed = src.baseAddress else { return }
            for r in 0..<h {
                let rowBits = (h - 1 - r) * w  // stored upside down
                let rowOut = destination + r * w * t
                for f in 0..<t {
                    let frame = packed + f * frameBytes
                    for c in 0..<w {
                        let bit = rowBits + c
                        rowOut[c * t + f] = Float((frame[bit >> 3] >> UInt8(bit & 7)) & 1)
                    }
                }
            }
        }
    }

    mutating func replaceBytes(_ newBytes: [UInt8]) {
        bytes = newBytes
    }

    /// Total number of spikes (set bits).
    public var spikeCount: Int {
        bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}
