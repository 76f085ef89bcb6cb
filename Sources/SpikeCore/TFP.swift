/// Texture from playback: the mean firing of each pixel over a window of frames.
public enum TFP {
    /// Per-pixel spike count over frames `max(center - window + 1, 0) ..< min(center + window + 1, T)`
    /// divided by the number of those frames (the reference's `middleTFP`).
    ///
    /// - Returns: `[H * W]` floats in [0, 1], display row order.
    /// - Precondition: `0 <= center < T` and `window >= 1`.
    public static func intensity(_ volume: SpikeVolume, center: Int, window: Int = 50) -> [Float] {
        precondition(center >= 0 && center < volume.frameCount, "TFP centre \(center) outside 0..<\(volume.frameCount)")
        precondition(window >= 1, "TFP window must be positive")
        let lower = max(center - window + 1, 0)
        let upper = min(center + window + 1, volume.frameCount)
        let pixels = volume.geometry.pixelCount
        var counts = [UInt32](repeating: 0, count: pixels)
        volume.values.withUnsafeBufferPointer { values in
            counts.withUnsafeMutableBufferPointer { acc in
                for t in lower..<upper {
                    let base = t * pixels
                    for p in 0..<pixels {
                        acc[p] &+= UInt32(values[base + p])
                    }
                }
            }
        }
        // Divide (not multiply by a reciprocal) so each value is correctly rounded like numpy's mean.
        let frames = Float(upper - lower)
        return counts.map { Float($0) / frames }
    }
}
