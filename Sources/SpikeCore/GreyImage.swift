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
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
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

/// Area resampling (OpenCV `INTER_AREA`) for whole-factor reductions.
public enum AreaResample {
    /// Halves a single-channel image by averaging each 2x2 block; an odd last row or
    /// column is dropped (OpenCV's `INTER_AREA` with `fx = fy = 0.5` on even sizes).
    /// - Returns: `(height/2) * (width/2)` values, row-major.
    /// - Precondition: `values.count == width * height`, both sides >= 2.
    public static func downsample2x(_ values: [Float], width: Int, height: Int) -> [Float] {
        precondition(values.count == width * height, "value count does not match \(width)x\(height)")
        precondition(width >= 2 && height >= 2, "image too small to halve")
        let outWidth = width / 2
        let outHeight = height / 2
        var out = [Float](repeating: 0, count: outWidth * outHeight)
        for y in 0..<outHeight {
            let top = 2 * y * width
            let bottom = top + width
            for x in 0..<outWidth {
                let sum = values[top + 2 * x] + values[top + 2 * x + 1] + values[bottom + 2 * x] + values[bottom + 2 * x + 1]
                out[y * outWidth + x] = sum * 0.25
            }
        }
        return out
    }
}
