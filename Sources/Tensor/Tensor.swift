/// A dense float32 tensor in PyTorch's contiguous layout (row-major, `NCHW` for images):
/// the exchange format at the model's boundary (fixtures, checkpoints, I/O).
public struct Tensor: Sendable, Equatable {
    /// Sizes, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var data: [Float]

    /// Wraps values.
    public init(shape: [Int], data: [Float]) {
        precondition(data.count == shape.reduce(1, *), "Tensor: \(data.count) values for shape \(shape)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Image `n` of a `[N, C, H, W]` tensor as a channels-last map.
    public func featureMap(batch n: Int) -> FeatureMap {
        precondition(shape.count == 4, "featureMap: tensor is not 4-D")
        let (c, h, w) = (shape[1], shape[2], shape[3])
        let size = c * h * w
        return data.withUnsafeBufferPointer {
            FeatureMap(chw: $0.baseAddress! + n * size, channels: c, height: h, width: w)
        }
    }

    /// Stacks channels-last maps of equal size into `[N, C, H, W]`.
    public init(stacking maps: [FeatureMap]) {
        precondition(!maps.isEmpty, "Tensor(stacking:) needs at least one map")
        let first = maps[0]
        let size = first.data.count
        for m in maps {
            precondition(
                m.height == first.height && m.width == first.width && m.channels == first.channels,
                "stack: sizes differ")
        }
        let data = [Float](unsafeUninitializedCapacity: maps.count * size) { out, initialized in
            for (n, m) in maps.enumerated() { m.writeCHW(into: out.baseAddress! + n * size) }
            initialized = maps.count * size
        }
        self.init(shape: [maps.count, first.channels, first.height, first.width], data: data)
    }

    /// Largest absolute difference to `other` (same shape).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<data.count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}
