import SpikeCore
import Tensor

/// A weight-free spike-guided baseline.
///
/// The spike window gives a sharp but noisy intensity at half resolution: TFI (1 / the
/// interval between the spikes around the middle frame) blended with TFP (the firing rate
/// over a few frames around the middle) to tame the noise of a single interval, smoothed with a small Gaussian,
/// upsampled 2x bilinearly. A firing rate is proportional to the light (rate = intensity /
/// threshold) but the threshold is unknown, so one gain maps it onto the blurry frame's luma:
/// the blurry frame is the temporal mean of the sharp ones, so their mean luma agrees (a
/// regression against the blurry luma would not do: its texture is blurred away). The result replaces
/// the luma (BT.601 YCbCr) of the blurry frame, whose chroma is kept.
public struct ClassicalDeblurrer: Deblurrer {
    public let name = "classical"
    public let windowLength: Int? = nil
    /// Weight of TFI against TFP in the intensity estimate.
    public var tfiWeight: Float
    /// TFI search window (frames each side).
    public var tfiWindow: Int
    /// Half-width of the TFP window around the middle frame (short: motion blurs a long one).
    public var tfpHalfWindow: Int

    /// Creates the baseline.
    public init(tfiWeight: Float = 0.5, tfiWindow: Int = 50, tfpHalfWindow: Int = 8) {
        self.tfiWeight = tfiWeight
        self.tfiWindow = tfiWindow
        self.tfpHalfWindow = tfpHalfWindow
    }

    public func deblur(_ input: DeblurInput) throws -> DeblurResult {
        try input.checkSizes(name)
        let g = input.spikes.geometry
        guard input.spikes.count >= 2 else { throw DeblurError(name, "spike window needs at least 2 frames") }
        let middle = input.spikes.count / 2
        let tfi = TFI.middle(input.spikes, middle: middle, window: tfiWindow)
        let tfp = TFP.intensity(input.spikes, frames: (middle - tfpHalfWindow)..<(middle + tfpHalfWindow))
        // Normalise each estimate to unit mean before blending (they share the scale only
        // up to the threshold).
        func normalised(_ v: [Float]) -> [Float] {
            let mean = v.reduce(0, +) / Float(max(v.count, 1))
            return mean > 0 ? v.map { $0 / mean } : v
        }
        let a = normalised(tfi), b = normalised(tfp)
        var intensity = zip(a, b).map { tfiWeight * $0 + (1 - tfiWeight) * $1 }
        intensity = Self.gaussian3x3(intensity, width: g.width, height: g.height)
        let backend = CPUBackend(threads: 1)
        let half = FeatureMap(height: g.height, width: g.width, channels: 1, data: intensity)
        let full = backend.resizeBilinear(half, height: input.blur.height, width: input.blur.width)
        // Luma and chroma of the blurry frame (BT.601, full range).
        let n = input.blur.pixelCount
        var y = [Float](repeating: 0, count: n), cb = y, cr = y
        for p in 0..<n {
            let (r, gg, bb) = (input.blur.data[3 * p], input.blur.data[3 * p + 1], input.blur.data[3 * p + 2])
            y[p] = 0.299 * r + 0.587 * gg + 0.114 * bb
            cb[p] = -0.168736 * r - 0.331264 * gg + 0.5 * bb
            cr[p] = 0.5 * r - 0.418688 * gg - 0.081312 * bb
        }
        let meanIntensity = full.data.reduce(0, +) / Float(n)
        let gain = meanIntensity > 0 ? (y.reduce(0, +) / Float(n)) / meanIntensity : 0
        let offset: Float = 0
        var sharp = FeatureMap(height: input.blur.height, width: input.blur.width, channels: 3)
        var recon = FeatureMap(height: input.blur.height, width: input.blur.width, channels: 1)
        for p in 0..<n {
            let luma = gain * full.data[p] + offset
            recon.data[p] = luma
            sharp.data[3 * p] = luma + 1.402 * cr[p]
            sharp.data[3 * p + 1] = luma - 0.344136 * cb[p] - 0.714136 * cr[p]
            sharp.data[3 * p + 2] = luma + 1.772 * cb[p]
        }
        return DeblurResult(sharp: sharp, spikeRecon: recon)
    }

    /// Separable [1 2 1]/4 smoothing with edge replication.
    static func gaussian3x3(_ v: [Float], width: Int, height: Int) -> [Float] {
        var tmp = v, out = v
        for y in 0..<height {
            for x in 0..<width {
                let l = v[y * width + max(x - 1, 0)], r = v[y * width + min(x + 1, width - 1)]
                tmp[y * width + x] = 0.25 * l + 0.5 * v[y * width + x] + 0.25 * r
            }
        }
        for y in 0..<height {
            for x in 0..<width {
                let u = tmp[max(y - 1, 0) * width + x], d = tmp[min(y + 1, height - 1) * width + x]
                out[y * width + x] = 0.25 * u + 0.5 * tmp[y * width + x] + 0.25 * d
            }
        }
        return out
    }
}
