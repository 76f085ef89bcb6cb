import CKernels

/// An image in memory: `height x width x channels` floats in [0, 1], channels interleaved
/// (HWC, row-major), 1 (grey) or 3 (RGB) channels.
public struct Image: Sendable, Equatable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Values per pixel: 1 or 3.
    public var channels: Int
    /// `height * width * channels` values, nominally in [0, 1].
    public var pixels: [Float]

    /// Wraps values.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(
            pixels.count == width * height * channels,
            "Image: \(pixels.count) values for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A black image.
    public init(width: Int, height: Int, channels: Int) {
        self.init(
            width: width, height: height, channels: channels,
            pixels: [Float](repeating: 0, count: width * height * channels))
    }

    /// From 8-bit values, `Float(v) / 255`.
    ///
    /// This is the reference's input conversion: its datasets read frames with
    /// `PIL.Image.open(path).convert("RGB")` and `torchvision.transforms.ToTensor()`, a
    /// float32 division by 255 of RGB samples. (Its `test_real.py` instead feeds
    /// `cv2.imread(...) / 255` to the model without swapping OpenCV's BGR order; we keep RGB.)
    public init(uint8 values: [UInt8], width: Int, height: Int, channels: Int) {
        let pixels = [Float](unsafeUninitializedCapacity: values.count) { out, count in
            values.withUnsafeBufferPointer { ck_u8_to_unit_f32($0.baseAddress, out.baseAddress, $0.count) }
            count = values.count
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The value at column `x`, row `y`, channel `c`.
    public subscript(x: Int, y: Int, c: Int) -> Float {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// 8-bit values: clamped to [0, 1], times 255 in float32, rounded half to even.
    ///
    /// This is how the reference saves images: `tensor2img` in `codes/utils/misc_utils.py`
    /// clamps to [0, 1] and takes `(x * 255.0).round()` (numpy rounds half to even), and
    /// `cv2.imwrite` of a float array saturates with `cvRound`, also half to even. NaN
    /// becomes 0.
    public func toUInt8() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: pixels.count) { out, count in
            pixels.withUnsafeBufferPointer { ck_unit_f32_to_u8_half_even($0.baseAddress, out.baseAddress, $0.count) }
            count = pixels.count
        }
    }

    /// The grey level `0.2989 R + 0.587 G + 0.114 B` (torchvision's `Grayscale`), or the
    /// image itself when it has one channel.
    public func grey() -> Image {
        if channels == 1 { return self }
        var out = Image(width: width, height: height, channels: 1)
        for p in 0..<(width * height) {
            out.pixels[p] = 0.2989 * pixels[3 * p] + 0.587 * pixels[3 * p + 1] + 0.114 * pixels[3 * p + 2]
        }
        return out
    }

    /// The same image with 3 channels (grey replicated).
    public func rgb() -> Image {
        if channels == 3 { return self }
        var out = Image(width: width, height: height, channels: 3)
        for p in 0..<(width * height) { for c in 0..<3 { out.pixels[3 * p + c] = pixels[p] } }
        return out
    }

    /// Channel planes, `[channels, height, width]` (PyTorch's CHW).
    public func chwPlanes() -> [Float] {
        var out = [Float](repeating: 0, count: pixels.count)
        let plane = width * height
        for p in 0..<plane { for c in 0..<channels { out[c * plane + p] = pixels[p * channels + c] } }
        return out
    }

    /// From channel planes `[channels, height, width]`.
    public init(chw: [Float], width: Int, height: Int, channels: Int) {
        precondition(chw.count == width * height * channels, "Image(chw:): size mismatch")
        var out = [Float](repeating: 0, count: chw.count)
        let plane = width * height
        for p in 0..<plane { for c in 0..<channels { out[p * channels + c] = chw[c * plane + p] } }
        self.init(width: width, height: height, channels: channels, pixels: out)
    }

    /// The region at (`x`, `y`) of `width x height`.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "crop outside the image")
        var out = Image(width: w, height: h, channels: channels)
        for row in 0..<h {
            let src = ((y + row) * width + x) * channels
            let dst = row * w * channels
            for i in 0..<(w * channels) { out.pixels[dst + i] = pixels[src + i] }
        }
        return out
    }
}
