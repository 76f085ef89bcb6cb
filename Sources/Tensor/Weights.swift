/// A 2-D convolution's parameters in PyTorch's layout.
public struct ConvWeights: Sendable {
    /// Output channels.
    public let outChannels: Int
    /// Input channels.
    public let inChannels: Int
    /// Square kernel size.
    public let kernel: Int
    /// Stride (both axes).
    public let stride: Int
    /// Zero padding (both axes).
    public let padding: Int
    /// Channel groups (`inChannels` for a depthwise convolution).
    public let groups: Int
    /// `[outChannels, inChannels / groups, kernel, kernel]` as PyTorch stores it.
    public let weight: [Float]
    /// `[outChannels]`, or nil.
    public let bias: [Float]?

    /// The output size for a `height x width` input: `(size + 2 padding - kernel) / stride + 1`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }
    /// The weight re-laid for the GEMM: `[kernel, kernel, inChannels, outChannels]` (groups == 1).
    let gemmWeight: [Float]
    /// `gemmWeight` packed for the bf16 and fp32 GEMMs of CKernels, on first use.
    let bf16 = PackedOperand<UInt16>()
    let f32 = PackedOperand<Float>()

    /// `gemmWeight` as the bf16 GEMM's packed operand.
    var bf16GEMMWeight: [UInt16] {
        bf16.get { GEMMPacking.bf16(gemmWeight, k: kernel * kernel * inChannels, n: outChannels, transposed: false) }
    }

    /// `gemmWeight` as the fp32 GEMM's packed operand.
    var f32GEMMWeight: [Float] {
        f32.get { GEMMPacking.f32(gemmWeight, k: kernel * kernel * inChannels, n: outChannels, transposed: false) }
    }

    /// The 16 Winograd F(2x2, 3x3) weights `U = G g G^T` (`[cin, cout]` each, summed in
    /// Double) packed for the fp32 GEMM one after the other, on first use (3x3 kernels only).
    var f32WinogradWeight: [Float] {
        winograd.get {
            precondition(kernel == 3 && groups == 1, "Winograd weights of a \(kernel)x\(kernel) convolution")
            let (cin, cout) = (inChannels, outChannels)
            // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
            let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
            var packed: [Float] = []
            var u = [Float](repeating: 0, count: cin * cout)
            for xi in 0..<16 {
                let (a, b) = (xi / 4, xi % 4)
                for o in 0..<cout {
                    for i in 0..<cin {
                        var sum = 0.0
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                sum += g[a][ky] * Double(weight[((o * cin + i) * 3 + ky) * 3 + kx]) * g[b][kx]
                            }
                        }
                        u[i * cout + o] = Float(sum)
                    }
                }
                packed += GEMMPacking.f32(u, k: cin, n: cout, transposed: false)
            }
            return packed
        }
    }
    let winograd = PackedOperand<Float>()

    /// Creates a convolution from PyTorch-layout weights.
    public init(
        outChannels: Int, inChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
        groups: Int = 1, weight: [Float], bias: [Float]?
    ) {
        precondition(weight.count == outChannels * (inChannels / groups) * kernel * kernel, "conv weight size")
        precondition(bias == nil || bias?.count == outChannels, "conv bias size")
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding ?? kernel / 2
        self.groups = groups
        self.weight = weight
        self.bias = bias
        if groups == 1 {
            var g = [Float](repeating: 0, count: weight.count)
            for o in 0..<outChannels {
                for i in 0..<inChannels {
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            g[((ky * kernel + kx) * inChannels + i) * outChannels + o] =
                                weight[((o * inChannels + i) * kernel + ky) * kernel + kx]
                        }
                    }
                }
            }
            gemmWeight = g
        } else {
            gemmWeight = []
        }
    }
}

/// A linear layer's parameters in PyTorch's layout: `weight [out, in]`, `bias [out]`.
public struct LinearWeights: Sendable {
    /// Output features.
    public let outFeatures: Int
    /// Input features.
    public let inFeatures: Int
    /// `[outFeatures, inFeatures]`.
    public let weight: [Float]
    /// `[outFeatures]`, or nil.
    public let bias: [Float]?
    /// `weight` packed for the bf16 and fp32 GEMMs of CKernels, on first use.
    let bf16 = PackedOperand<UInt16>()
    let f32 = PackedOperand<Float>()

    /// `weight` as the bf16 GEMM's packed operand.
    var bf16Weight: [UInt16] { bf16.get { GEMMPacking.bf16(weight, k: inFeatures, n: outFeatures, transposed: true) } }

    /// `weight` as the fp32 GEMM's packed operand.
    var f32Weight: [Float] { f32.get { GEMMPacking.f32(weight, k: inFeatures, n: outFeatures, transposed: true) } }

    /// Creates a linear layer.
    public init(outFeatures: Int, inFeatures: Int, weight: [Float], bias: [Float]?) {
        precondition(weight.count == outFeatures * inFeatures, "linear weight size")
        precondition(bias == nil || bias?.count == outFeatures, "linear bias size")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.weight = weight
        self.bias = bias
    }
}

/// LayerNorm parameters (`weight`, `bias` of the normalised size).
public struct NormWeights: Sendable {
    /// Scale.
    public let weight: [Float]
    /// Shift.
    public let bias: [Float]
    /// Epsilon added to the biased variance.
    public let epsilon: Float

    /// Creates LayerNorm parameters.
    public init(weight: [Float], bias: [Float], epsilon: Float = 1e-5) {
        precondition(weight.count == bias.count, "norm sizes")
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }
}

/// The relative position bias of one Swin block's window attention, expanded per head.
public struct WindowPositionBias: Sendable {
    /// Heads.
    public let heads: Int
    /// Window side.
    public let window: Int
    /// `[heads, window^2, window^2]`.
    public let bias: [Float]

    /// Expands the bias table with the relative position index.
    /// - Parameters:
    ///   - table: `[(2w-1)^2, heads]`.
    ///   - index: `[w^2, w^2]` indices into the table rows.
    public init(heads: Int, window: Int, table: [Float], index: [Int]) {
        let n = window * window
        precondition(index.count == n * n, "relative position index size")
        var bias = [Float](repeating: 0, count: heads * n * n)
        for h in 0..<heads {
            for i in 0..<n * n { bias[h * n * n + i] = table[index[i] * heads + h] }
        }
        self.heads = heads
        self.window = window
        self.bias = bias
    }

    /// The reference relative position index for a `window x window` window:
    /// `idx[i, j] = (hi - hj + w - 1) * (2w - 1) + (wi - wj + w - 1)`.
    public static func relativePositionIndex(window w: Int) -> [Int] {
        let n = w * w
        var idx = [Int](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                idx[i * n + j] = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1)
            }
        }
        return idx
    }
}

/// Window attention parameters of one Swin block (the `use_conv = false` layout).
public struct WindowAttentionWeights: Sendable {
    /// `qkv: Linear(C -> 3C)`.
    public let qkv: LinearWeights
    /// `proj: Linear(C -> C)`.
    public let proj: LinearWeights
    /// The relative position bias.
    public let position: WindowPositionBias

    /// Creates attention weights from the projections and the position bias.
    public init(qkv: LinearWeights, proj: LinearWeights, position: WindowPositionBias) {
        self.qkv = qkv
        self.proj = proj
        self.position = position
    }

    /// Creates attention weights, expanding the bias table with the relative position index
    /// (see ``WindowPositionBias/init(heads:window:table:index:)``).
    public init(qkv: LinearWeights, proj: LinearWeights, heads: Int, window: Int, table: [Float], index: [Int]) {
        self.init(
            qkv: qkv, proj: proj, position: WindowPositionBias(heads: heads, window: window, table: table, index: index)
        )
    }
}
