/// Grey conversion and resampling for spike simulation, as the reference prepares frames
/// for `v2s_process.py` (OpenCV `COLOR_BGR2GRAY`, then `INTER_AREA` by one half).
public enum GreyImage {
    /// The luma weights OpenCV's `COLOR_BGR2GRAY` uses: 0.299 R + 0.587 G + 0.114 B.
    ///
    /// (The model's CAMMM uses 0.2989/0.587/0.114 instead; that one lives with the model.)
    public static let lumaWeights: (red: Float, green: Float, blue: Float) = (0.299, 0.587, 0.114)

    /// Converts interleaved RGB (`channels` >= 3, HWC, values in [0, 1]) to grey.
    /// A 1-channel input is returned unchanged.
    /// - Parameter quantize: Round to 8-bit levels (as the reference's uint8 pipeline does).
    /// - Precondition: `pixels.count == width * height * channels`.
    public static func fromRGB(
        _ pixels: [Float], width: Int, height: Int, channels: Int, quantize: Bool = false
    ) -> [Float] {
        precondition(
            pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
        precondition(channels == 1 || channels >= 3, "grey conversion needs 1 or at least 3 channels")
        let count = width * height
        var grey = [Float](repeating: 0, count: count)
        if channels == 1 {
            grey = pixels
        } else {
            let (wr, wg, wb) = lumaWeights
            for p in 0..<count {
                let base = p * channels
                grey[p] = wr * pixels[base] + wg * pixels[base + 1] + wb * pixels[base + 2]
            }
        }
        return quantize ? quantized(grey) : grey
    }

    /// Rounds each value (clamped to [0, 1]) to the nearest of 256 levels.
    public static func quantized(_ values: [Float]) -> [Float] {
        values.map { (min(max($0, 0), 1) * 255).rounded() / 255 }
    }
}
