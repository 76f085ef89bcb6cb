internal import CKernels

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
        self = chw.withUnsafeBufferPointer {
            FeatureMap(chw: $0.baseAddress!, channels: channels, height: height, width: width)
        }
    }

    /// Converts `channels * height * width` channels-first values at `chw`, straight into the
    /// map's buffer.
    init(chw: UnsafePointer<Float>, channels: Int, height: Int, width: Int) {
        self.init(uninitializedHeight: height, width: width, channels: channels)
        data.withUnsafeMutableBufferPointer { d in
            Self.transpose(chw, rows: channels, columns: height * width, into: d.baseAddress!)
        }
    }

    /// Number of pixels (tokens).
    public var pixelCount: Int { height * width }

    /// The values channels-first, `[channels, height, width]`.
    public func chw() -> [Float] {
        [Float](unsafeUninitializedCapacity: data.count) { out, initialized in
            writeCHW(into: out.baseAddress!)
            initialized = data.count
        }
    }

    /// Writes the values channels-first, `[channels, height, width]`, to `out`.
    func writeCHW(into out: UnsafeMutablePointer<Float>) {
        data.withUnsafeBufferPointer { s in
            Self.transpose(s.baseAddress!, rows: height * width, columns: channels, into: out)
        }
    }

    /// `out[j * rows + i] = src[i * columns + j]` for a `rows x columns` matrix, in blocks of
    /// 16 x 16 transposed in registers with AVX-512, else in blocks of 64 x 64 so that both
    /// sides stay in cache.
    static func transpose(_ s: UnsafePointer<Float>, rows: Int, columns: Int, into d: UnsafeMutablePointer<Float>) {
        transpose(s, rows: rows, columns: columns, sourceStride: columns, into: d, destinationStride: rows)
    }

    /// `d[j * destinationStride + i] = s[i * sourceStride + j]` for `i < rows`, `j < columns`.
    static func transpose(
        _ s: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int, into d: UnsafeMutablePointer<Float>,
        destinationStride: Int
    ) {
        if let kernels = F32Kernels.native {
            kernels.transpose(s, sourceStride, d, destinationStride, rows, columns)
            return
        }
        let block = 64
        for j0 in stride(from: 0, to: columns, by: block) {
            let j1 = min(j0 + block, columns)
            for i0 in stride(from: 0, to: rows, by: block) {
                let i1 = min(i0 + block, rows)
                for j in j0..<j1 {
                    let dst = d + j * destinationStride
                    for i in i0..<i1 { dst[i] = s[i * sourceStride + j] }
                }
            }
        }
    }

    /// ``transpose(_:rows:columns:into:)`` between arrays.
    static func transpose(_ src: [Float], rows: Int, columns: Int, into out: inout [Float]) {
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                transpose(s.baseAddress!, rows: rows, columns: columns, into: d.baseAddress!)
            }
        }
    }

    /// The value at row `y`, column `x`, channel `c`.
    public subscript(y: Int, x: Int, c: Int) -> Float {
        get { data[(y * width + x) * channels + c] }
        set { data[(y * width + x) * channels + c] = newValue }
    }
}
