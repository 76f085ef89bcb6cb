/// A dense float32 image-like tensor in channels-last layout: `[height, width, channels]`,
/// row-major, so pixel `(y, x)` holds `channels` consecutive values. Seen as tokens, it is a
/// `[height * width, channels]` matrix, which is what the transformer layers multiply.
public struct FeatureMap: Sendable, Equatable {
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// Values per pixel.
    public var channels: Int
    /// `height * width * channels` values, channels fastest.
    public var data: TensorBuffer

    /// A map of zeros.
    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
        self.data = TensorBuffer(repeating: 0, count: height * width * channels)
    }

    /// A map whose values are unspecified, for op outputs that are overwritten entirely:
    /// skipping the zero fill saves a pass over every output (about 7% of a forward pass).
    init(uninitializedHeight height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
        self.data = TensorBuffer(uninitialized: height * width * channels)
    }

    /// Wraps values laid out `[height, width, channels]`.
    public init(height: Int, width: Int, channels: Int, data: TensorBuffer) {
        precondition(
            data.count == height * width * channels,
            "FeatureMap: \(data.count) values for \(height)x\(width)x\(channels)")
        self.height = height
        self.width = width
        self.channels = channels
        self.data = data
    }

    /// Copies values laid out `[height, width, channels]`.
    public init(height: Int, width: Int, channels: Int, data: [Float]) {
        self.init(height: height, width: width, channels: channels, data: TensorBuffer(data))
    }

    /// Converts from channels-first `[channels, height, width]` (PyTorch's NCHW for one image).
    public init(chw: [Float], channels: Int, height: Int, width: Int) {
        precondition(
            chw.count == channels * height * width, "FeatureMap: \(chw.count) values for \(channels)x\(height)x\(width)"
        )
        var out = [Float](repeating: 0, count: chw.count)
        let plane = height * width
        for c in 0..<channels {
            for p in 0..<plane { out[p * channels + c] = chw[c * plane + p] }
        }
        self.init(height: height, width: width, channels: channels, data: out)
    }

    /// Number of pixels (tokens).
    public var pixelCount: Int { height * width }

    /// The values channels-first, `[channels, height, width]`.
    public func chw() -> [Float] {
        var out = [Float](repeating: 0, count: data.count)
        let plane = height * width
        for p in 0..<plane {
            for c in 0..<channels { out[c * plane + p] = data[p * channels + c] }
        }
        return out
    }

    /// The value at row `y`, column `x`, channel `c`.
    public subscript(y: Int, x: Int, c: Int) -> Float {
        get { data[(y * width + x) * channels + c] }
        set { data[(y * width + x) * channels + c] = newValue }
    }
}
