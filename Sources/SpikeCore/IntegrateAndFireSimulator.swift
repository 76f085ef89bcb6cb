import Foundation

/// Integrate-and-fire spike camera simulator with the reference `v2s` semantics.
///
/// Each pixel integrates its grey level (in [0, 1]) every step, starting from a random level
/// uniform in `[0, threshold)`; when the integrator reaches the threshold the pixel fires
/// and the threshold is subtracted. Seeded and deterministic.
///
/// Two sensor imperfections are optional (both off by default): a per-pixel threshold
/// spread (fixed-pattern noise: pixel thresholds are `threshold * (1 + spread * g)`, `g`
/// standard normal, clamped to at least half the nominal threshold) and spurious spikes
/// (each pixel fires at random with probability `spuriousRate` per step, on top of its
/// integrator and without resetting it, as dark-current events do).
public struct IntegrateAndFireSimulator: Sendable {
    /// The spike frame size.
    public let geometry: SpikeGeometry
    /// Nominal firing threshold (the reference uses 5.0 by default in `v2s_interface`, 2.0 for X4K).
    public let threshold: Float
    /// Relative per-pixel threshold spread.
    public let thresholdSpread: Float
    /// Spurious spike probability per pixel and step.
    public let spuriousRate: Float
    private var integrator: [Float]
    private var thresholds: [Float]  // empty: every pixel uses `threshold`
    private var rng: SplitMix64
    private var untilSpurious: Int  // pixel steps before the next spurious spike

    /// Creates a simulator with a seeded random initial integrator.
    ///
    /// The default threshold 2.0 is the one the reference used to synthesise its X4K1000FPS
    /// spikes (`v2s_interface`'s own default is 5.0; the Spk-GoPro threshold is not in the
    /// reference). With 2.0 the training convention `TFI / 0.5` recovers the grey level.
    /// - Throws: ``SpikeError/invalidParameter(name:problem:)`` for a non-positive threshold,
    ///   a spread outside [0, 0.5] or a rate outside [0, 0.5].
    public init(
        geometry: SpikeGeometry, threshold: Float = 2.0, thresholdSpread: Float = 0, spuriousRate: Float = 0,
        seed: UInt64
    ) throws(SpikeError) {
        guard threshold > 0, threshold.isFinite else {
            throw .invalidParameter(name: "threshold", problem: "must be positive, got \(threshold)")
        }
        guard thresholdSpread >= 0, thresholdSpread <= 0.5 else {
            throw .invalidParameter(name: "thresholdSpread", problem: "must be in [0, 0.5], got \(thresholdSpread)")
        }
        guard spuriousRate >= 0, spuriousRate <= 0.5 else {
            throw .invalidParameter(name: "spuriousRate", problem: "must be in [0, 0.5], got \(spuriousRate)")
        }
        self.geometry = geometry
        self.threshold = threshold
        self.thresholdSpread = thresholdSpread
        self.spuriousRate = spuriousRate
        var rng = SplitMix64(seed: seed)
        integrator = (0..<geometry.pixelCount).map { _ in rng.nextUnitFloat() * threshold }
        if thresholdSpread > 0 {
            var noise = SplitMix64(seed: seed ^ 0xF1ED_9A77_E2)
            thresholds = (0..<geometry.pixelCount).map { _ in
                max(0.5 * threshold, threshold * (1 + thresholdSpread * noise.nextGaussian()))
            }
        } else {
            thresholds = []
        }
        self.rng = SplitMix64(seed: seed ^ 0xDA2C_C022_E47)
        untilSpurious = 0
        untilSpurious = nextGap()
    }

    /// Geometric gap to the next spurious spike (Int.max when there are none).
    private mutating func nextGap() -> Int {
        guard spuriousRate > 0 else { return Int.max }
        let u = max(Double(rng.nextUnitFloat()), 1e-12)
        let gap = (log(u) / log1p(-Double(spuriousRate))).rounded(.down)
        return gap < 1e15 ? Int(gap) : Int.max
    }

    /// Integrates one grey frame (`[H * W]` display order, values in [0, 1]) and returns the
    /// spike frame it fires.
    public mutating func step(grey: [Float]) -> PackedSpikeFrames {
        precondition(
            grey.count == geometry.pixelCount, "grey frame has \(grey.count) values, expected \(geometry.pixelCount)")
        let (h, w) = (geometry.height, geometry.width)
        var bytes = [UInt8](repeating: 0, count: geometry.bytesPerFrame)
        let thr = threshold
        let perPixel = !thresholds.isEmpty
        thresholds.withUnsafeBufferPointer { pixelThr in
            integrator.withUnsafeMutableBufferPointer { acc in
                for r in 0..<h {
                    let storedRow = h - 1 - r
                    for x in 0..<w {
                        let i = r * w + x
                        let t = perPixel ? pixelThr[i] : thr
                        acc[i] += grey[i]
                        if acc[i] - t >= 0 {
                            acc[i] -= t
                            let p = storedRow * w + x
                            bytes[p >> 3] |= 1 << UInt8(p & 7)
                        }
                    }
                }
            }
        }
        // Spurious spikes: walk the geometric gaps through this frame's pixels.
        var remaining = geometry.pixelCount
        var position = 0
        while untilSpurious < remaining {
            position += untilSpurious
            remaining -= untilSpurious + 1
            let (r, x) = (position / w, position % w)
            let p = (h - 1 - r) * w + x
            bytes[p >> 3] |= 1 << UInt8(p & 7)
            position += 1
            untilSpurious = nextGap()
        }
        if untilSpurious != Int.max { untilSpurious -= remaining }
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
    /// A standard normal value (Box-Muller on two uniforms).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitFloat(), 1e-7)
        let u2 = nextUnitFloat()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
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
