/// Integrate-and-fire spike camera simulator with the reference `v2s` semantics.
///
/// Each pixel integrates its grey level (in [0, 1]) every step, starting from a random level
/// uniform in `[0, threshold)`; when the integrator reaches the threshold the pixel fires
/// and the threshold is subtracted. Seeded and deterministic.
public struct IntegrateAndFireSimulator: Sendable {
    /// The spike frame size.
    public let geometry: SpikeGeometry
    /// Firing threshold (the reference uses 5.0 by default in `v2s_interface`, 2.0 for X4K).
    public let threshold: Float
    private var integrator: [Float]

    /// Creates a simulator with a seeded random initial integrator.
    /// - Throws: ``SpikeError/invalidParameter(name:problem:)`` for a non-positive threshold.
    public init(geometry: SpikeGeometry, threshold: Float, seed: UInt64) throws(SpikeError) {
        guard threshold > 0, threshold.isFinite else {
            throw .invalidParameter(name: "threshold", problem: "must be positive, got \(threshold)")
        }
        self.geometry = geometry
        self.threshold = threshold
        var rng = SplitMix64(seed: seed)
        integrator = (0..<geometry.pixelCount).map { _ in rng.nextUnitFloat() * threshold }
    }

    /// Integrates one grey frame (`[H * W]` display order, values in [0, 1]) and returns the
    /// spike frame it fires.
    public mutating func step(grey: [Float]) -> PackedSpikeFrames {
        precondition(
            grey.count == geometry.pixelCount, "grey frame has \(grey.count) values, expected \(geometry.pixelCount)")
        let (h, w) = (geometry.height, geometry.width)
        var bytes = [UInt8](repeating: 0, count: geometry.bytesPerFrame)
        let thr = threshold
        integrator.withUnsafeMutableBufferPointer { acc in
            for r in 0..<h {
                let storedRow = h - 1 - r
                for x in 0..<w {
                    let i = r * w + x
                    acc[i] += grey[i]
                    if acc[i] - thr >= 0 {
                        acc[i] -= thr
                        let p = storedRow * w + x
                        bytes[p >> 3] |= 1 << UInt8(p & 7)
                    }
                }
            }
        }
        return PackedSpikeFrames(uncheckedGeometry: geometry, bytes: bytes)
    }
}

/// A small deterministic PRNG (SplitMix64) so simulations are reproducible across platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// Seeds the generator.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A float uniform in [0, 1).
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// Area resampling for grey frames (the reference uses OpenCV `INTER_AREA` at 0.5x).
public enum AreaResample {
    /// Halves each side by averaging 2x2 blocks (odd trailing rows/columns are dropped, as
    /// `INTER_AREA` with a factor of exactly 2 does for even sizes).
    public static func downsample2x(_ grey: [Float], width: Int, height: Int) -> [Float] {
        let (w2, h2) = (width / 2, height / 2)
        var out = [Float](repeating: 0, count: w2 * h2)
        for y in 0..<h2 {
            for x in 0..<w2 {
                let a = grey[(2 * y) * width + 2 * x] + grey[(2 * y) * width + 2 * x + 1]
                let b = grey[(2 * y + 1) * width + 2 * x] + grey[(2 * y + 1) * width + 2 * x + 1]
                out[y * w2 + x] = (a + b) * 0.25
            }
        }
        return out
    }
}
