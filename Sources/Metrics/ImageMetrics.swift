import Foundation

/// PSNR and SSIM exactly as the reference evaluation (`codes/utils/batch_utils.py`) computes
/// them, so scores are comparable with the paper's tables.
///
/// Images are float arrays in `[height, width, channels]` (HWC) order with values nominally
/// in [0, 1]; outputs are not clamped, as in the reference.
public enum ImageMetrics {
    /// scikit-image `peak_signal_noise_ratio(reference, test, data_range)`:
    /// `10 log10(range^2 / MSE)`; like scikit-image on float32 images, differences and
    /// squares in float32, the mean accumulated in float64; `+inf` for identical inputs.
    public static func psnr(_ reference: [Float], _ test: [Float], dataRange: Double = 1) -> Double {
        precondition(reference.count == test.count && !reference.isEmpty, "psnr: sizes differ")
        var sum = 0.0
        for i in 0..<reference.count {
            let d = reference[i] - test[i]
            sum += Double(d * d)
        }
        let mse = sum / Double(reference.count)
        return mse == 0 ? .infinity : 10 * log10(dataRange * dataRange / mse)
    }

    /// The reference SSIM: both images times 255, the BT.601 luma of RGB images
    /// (`Y = (65.481 R + 128.553 G + 24.966 B) / 255 + 16`, with the reference's mix of
    /// float32 scaling and float64 products), then the SSIM map with an 11x11 Gaussian window (sigma 1.5, OpenCV's
    /// `getGaussianKernel`), `C1 = (0.01*255)^2`, `C2 = (0.03*255)^2`, in float64, over the
    /// positions whose window lies inside the image (the reference's 5-pixel crop of the
    /// filtered maps), averaged.
    public static func ssim(_ reference: [Float], _ test: [Float], width: Int, height: Int, channels: Int) -> Double {
        precondition(
            reference.count == width * height * channels && test.count == reference.count, "ssim: sizes differ")
        precondition(width > 10 && height > 10, "ssim: images must be larger than the 11x11 window")
        let planes: [([Double], [Double])]
        if channels == 3 {
            planes = [(luma(reference, width * height), luma(test, width * height))]
        } else {
            // Other channel counts are scored per channel, as `to_y_channel` returns them:
            // times 255, then `/ 255. * 255.` again, all in float32.
            func plane(_ image: [Float], _ c: Int) -> [Double] {
                (0..<(width * height)).map { Double(image[$0 * channels + c] * 255 / 255 * 255) }
            }
            planes = (0..<channels).map { c in (plane(reference, c), plane(test, c)) }
        }
        let scores = planes.map { ssimPlane($0.0, $0.1, width: width, height: height) }
        return scores.reduce(0, +) / Double(scores.count)
    }

    /// `to_y_channel` of the reference on x255 values: the scaling in float32 as numpy does
    /// it on float32 arrays, the dot product and offsets in float64.
    static func luma(_ rgb: [Float], _ pixels: Int) -> [Double] {
        func channel(_ v: Float) -> Double { Double((v * 255) / 255 * 255) }
        return (0..<pixels).map { p -> Double in
            let y = channel(rgb[3 * p]) * 65.481 + channel(rgb[3 * p + 1]) * 128.553 + channel(rgb[3 * p + 2]) * 24.966
            return (y / 255 + 16) / 255 * 255
        }
    }

    /// OpenCV `getGaussianKernel(11, 1.5)`.
    static let gaussian: [Double] = {
        let raw = (0..<11).map { exp(-Double(($0 - 5) * ($0 - 5)) / (2 * 1.5 * 1.5)) }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }()

    static func ssimPlane(_ a: [Double], _ b: [Double], width: Int, height: Int) -> Double {
        let c1 = (0.01 * 255.0) * (0.01 * 255.0), c2 = (0.03 * 255.0) * (0.03 * 255.0)
        let g = gaussian
        let ow = width - 10, oh = height - 10
        // Separable filtering: horizontal pass on the five products, then vertical.
        func horizontal(_ f: (Int) -> Double) -> [Double] {
            var out = [Double](repeating: 0, count: height * ow)
            for y in 0..<height {
                for x in 0..<ow {
                    var s = 0.0
                    for k in 0..<11 { s += g[k] * f(y * width + x + k) }
                    out[y * ow + x] = s
                }
            }
            return out
        }
        func vertical(_ h: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: oh * ow)
            for y in 0..<oh {
                for x in 0..<ow {
                    var s = 0.0
                    for k in 0..<11 { s += g[k] * h[(y + k) * ow + x] }
                    out[y * ow + x] = s
                }
            }
            return out
        }
        let mu1 = vertical(horizontal { a[$0] }), mu2 = vertical(horizontal { b[$0] })
        let s11 = vertical(horizontal { a[$0] * a[$0] }), s22 = vertical(horizontal { b[$0] * b[$0] })
        let s12 = vertical(horizontal { a[$0] * b[$0] })
        var total = 0.0
        for i in 0..<(oh * ow) {
            let m1 = mu1[i], m2 = mu2[i]
            let v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, cov = s12[i] - m1 * m2
            total += ((2 * m1 * m2 + c1) * (2 * cov + c2)) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2))
        }
        return total / Double(oh * ow)
    }
}
