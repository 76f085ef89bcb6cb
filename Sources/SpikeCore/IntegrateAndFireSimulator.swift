/// Integrate-and-fire spike camera simulator with the semantics of the reference's
/// `v2s_process.py`.
///
/// Each pixel keeps an integrator that starts uniform in [0, threshold). Every step adds
/// the pixel's grey level (in [0, 1], at spike resolution); when the integrator reaches
/// `threshold` the pixel fires and `threshold` is subtracted. A constant grey level `g`
/// therefore fires at `g / threshold` spikes per frame.
///
/// The integrator is kept in `Double`, as the reference's float64 arrays are.
public struct IntegrateAndFireSimulator: Sendable {
    /// The spike frame size.
    public let geometry: SpikeGeometry
    /// The firing threshold.
    public let threshold: Float
    /// The per-pixel integrators, display row order.
    public private(set) var integrator: [Double]
    /// Frames produced so far.
    public private(set) var framesProduced = 0

    /// Creates a simulator with integrators drawn uniform in [0, threshold) from `seed`.
    ///
    /// The default threshold 2.0 is what the reference used to synthesise its X4K1000FPS
    /// spikes (its function default is 5.0; the GoPro threshold is not in the reference).
    /// With threshold 2 the training convention `TFI / 0.5` recovers the grey level.
    /// - Precondition: `threshold > 0`.
    public init(geometry: SpikeGeometry, threshold: Float = 2.0, seed: UInt64) {
        precondition(threshold > 0 && threshold.isFinite, "threshold must be positive")
        self.geometry = geometry
        self.threshold = threshold
        var rng = SplitMix64(seed: seed)
        let scale = Double(threshold)
        integrator = (0..<geometry.pixelCount).map { _ in rng.nextUnitDouble() * scale }
    }

    /// Integrates one grey frame and returns the resulting packed spike frame.
    /// - Parameter grey: `H * W` grey levels in [0, 1], display row order, spike resolution.
    /// - Precondition: `grey.count == geometry.pixelCount`.
    public mutating func step(grey: [Float]) -> PackedSpikeFrames {
        precondition(grey.count == geometry.pixelCount, "grey frame has \(grey.count) values, expected \(geometry.pixelCount)")
        let height = geometry.height
        let width = geometry.width
        let thr = Double(threshold)
        var bytes = [UInt8](repeating: 0, count: geometry.bytesPerFrame)
        integrator.withUnsafeMutableBufferPointer { acc in
            grey.withUnsafeBufferPointer { grey in
                bytes.withUnsafeMutableBufferPointer { out in
                    for y in 0..<height {
                        // Stored layout is upside down: display row y is stored row H-1-y.
                        let storedBase = (height - 1 - y) * width
                        let row = y * width
                        for x in 0..<width {
                            var value = acc[row + x] + Double(grey[row + x])
                            if value >= thr {
                                value -= thr
                                let p = storedBase + x
                                out[p >> 3] |= UInt8(1) << UInt8(p & 7)
                            }
                            acc[row + x] = value
                        }
                    }
                }
            }
        }
        framesProduced += 1
        return PackedSpikeFrames(uncheckedGeometry: geometry, bytes: bytes)
    }

    /// Runs `step` for each grey frame and concatenates the output.
    public mutating func run(_ frames: [[Float]]) -> PackedSpikeFrames {
        var out = PackedSpikeFrames(geometry: geometry)
        for frame in frames {
            out.append(contentsOf: step(grey: frame))
        }
        return out
    }
}
