import Tensor

/// One Swin transformer block: `x + WMSA(LN1(x))`, then `x + MLP(LN2(x))`.
///
/// With `use_conv` the attention's `qkv` and `proj` are 3x3 convolutions on the (rolled)
/// image instead of linears, and the MLP runs a depthwise 3x3 convolution and a GELU between
/// `fc1`'s GELU and `fc2`, as in the reference.
struct SwinBlock: Sendable {
    /// The attention's `qkv` and `proj` layers.
    enum Projections: Sendable {
        /// Linears on the tokens (the published layout).
        case linear(qkv: LinearWeights, proj: LinearWeights)
        /// `use_conv`: 3x3 convolutions on the rolled image.
        case conv(qkv: ConvWeights, proj: ConvWeights)
    }

    let norm1: NormWeights
    let projections: Projections
    let position: WindowPositionBias
    let norm2: NormWeights?
    let fc1: LinearWeights?
    let fc2: LinearWeights?
    /// `use_conv`: `mlp.conv_layer.0`, depthwise 3x3 over the hidden features.
    let mlpConv: ConvWeights?
    let shift: Int

    init(
        _ r: WeightReader, _ prefix: String, dim: Int, heads: Int, window configured: Int, index j: Int,
        inputResolution: Int, useMLP: Bool, useConv: Bool
    ) {
        // Reference quirk: a block whose input_resolution is not larger than the window uses
        // that resolution as its window and no shift.
        var window = configured
        var shift = j % 2 == 0 ? 0 : configured / 2
        if inputResolution <= configured {
            window = inputResolution
            shift = 0
        }
        let n = window * window
        norm1 = r.norm("\(prefix).norm1", dim)
        let table = r.floats(
            "\(prefix).attn.relative_position_bias_table", [(2 * window - 1) * (2 * window - 1), heads])
        let index =
            r.indices(
                "\(prefix).attn.relative_position_index", [n, n], bound: (2 * window - 1) * (2 * window - 1))
            ?? WindowPositionBias.relativePositionIndex(window: window)
        position = WindowPositionBias(heads: heads, window: window, table: table, index: index)
        projections =
            useConv
            ? .conv(
                qkv: r.conv("\(prefix).attn.qkv", out: 3 * dim, in: dim, kernel: 3),
                proj: r.conv("\(prefix).attn.proj", out: dim, in: dim, kernel: 3))
            : .linear(
                qkv: r.linear("\(prefix).attn.qkv", out: 3 * dim, in: dim),
                proj: r.linear("\(prefix).attn.proj", out: dim, in: dim))
        if shift > 0 {
            // The stored mask is for input_resolution; the forward pass recomputes it for the
            // actual padded size, exactly as the reference does when the sizes differ.
            let perSide = inputResolution / window
            r.check("\(prefix).attn_mask", [perSide * perSide, n, n])
        }
        if useMLP {
            norm2 = r.norm("\(prefix).norm2", dim)
            fc1 = r.linear("\(prefix).mlp.fc1", out: 2 * dim, in: dim)
            fc2 = r.linear("\(prefix).mlp.fc2", out: dim, in: 2 * dim)
            mlpConv =
                useConv
                ? r.conv("\(prefix).mlp.conv_layer.0", out: 2 * dim, in: 2 * dim, kernel: 3, groups: 2 * dim) : nil
        } else {
            norm2 = nil; fc1 = nil; fc2 = nil; mlpConv = nil
        }
        self.shift = shift
    }

    func callAsFunction(_ x: consuming FeatureMap, _ b: any TensorBackend) -> FeatureMap {
        var x = x
        if case .linear(let qkv, let proj) = projections, let norm2, let fc1, let fc2, mlpConv == nil {
            // The published layout: one fused op for the whole block.
            b.residualSwinBlock(
                &x, norm1: norm1, WindowAttentionWeights(qkv: qkv, proj: proj, position: position), shift: shift,
                norm2: norm2, fc1: fc1, fc2: fc2)
            return x
        }
        switch projections {
        case .linear(let qkv, let proj):
            b.residualWindowAttention(
                &x, norm: norm1, WindowAttentionWeights(qkv: qkv, proj: proj, position: position), shift: shift)
        case .conv(let qkvConv, let projConv):
            let normed = b.layerNorm(x, norm1)
            // The reference convolves the rolled image (window_reverse of the shifted
            // windows), zero-padded at its borders; the attention core reads unrolled tokens.
            let qkv = b.roll(b.conv2d(b.roll(normed, by: -shift), qkvConv), by: shift)
            let attended = b.windowAttention(qkv: qkv, position, shift: shift)
            b.add(&x, b.roll(b.conv2d(b.roll(attended, by: -shift), projConv), by: shift))
        }
        if let norm2, let fc1, let fc2 {
            if let mlpConv {
                var hidden = b.linearGELU(b.layerNorm(x, norm2), fc1)
                hidden = b.conv2d(hidden, mlpConv)
                b.gelu(&hidden)
                b.linear(hidden, fc2, addingTo: &x)
            } else {
                b.residualMLP(&x, norm: norm2, fc1: fc1, fc2: fc2)
            }
        }
        return x
    }
}

/// Residual Swin group (RSTB): `x + conv3x3(blocks(x))`; with `ms` (multi-scale) the blocks
/// also run on bilinear half- and quarter-size copies (sides rounded down to whole windows),
/// upsampled back and fused by a 1x1 convolution before the 3x3 one.
struct ResidualSwinGroup: Sendable {
    let blocks: [SwinBlock]
    let lastLayer: ConvWeights
    /// `ms`: `fuse_layer`, 1x1 from the three scales' `3C` channels to `C`.
    let fuseLayer: ConvWeights?
    let window: Int

    init(
        _ r: WeightReader, _ prefix: String, dim: Int, depth: Int, heads: Int, window: Int, imgSize: Int,
        useMLP: Bool, useConv: Bool, multiScale: Bool
    ) {
        blocks = (0..<depth).map {
            SwinBlock(
                r, "\(prefix).residual_group.blocks.\($0)", dim: dim, heads: heads, window: window, index: $0,
                inputResolution: imgSize / window, useMLP: useMLP, useConv: useConv)
        }
        fuseLayer = multiScale ? r.conv("\(prefix).fuse_layer", out: dim, in: 3 * dim, kernel: 1) : nil
        lastLayer = r.conv("\(prefix).last_layer", out: dim, in: dim, kernel: 3)
        self.window = window
    }

    func callAsFunction(_ x: FeatureMap, _ b: any TensorBackend) -> FeatureMap {
        func group(_ input: FeatureMap) -> FeatureMap {
            var y = input
            for block in blocks { y = block(y, b) }
            return y
        }
        var out = x
        if let fuseLayer {
            let (h, w) = (x.height, x.width)
            func scaled(_ divisor: Int) -> FeatureMap {
                let (sh, sw) = (h / divisor - (h / divisor) % window, w / divisor - (w / divisor) % window)
                let y = group(b.resizeBilinear(x, height: sh, width: sw))
                return b.resizeBilinear(y, height: h, width: w)
            }
            let full = group(x)
            let fused = b.concatChannels(b.concatChannels(full, scaled(2)), scaled(4))
            b.conv2d(b.conv2d(fused, fuseLayer), lastLayer, addingTo: &out)
        } else {
            b.conv2d(group(x), lastLayer, addingTo: &out)
        }
        return out
    }
}

/// Transposed cross-attention fusion block (TCAF, 4 heads, bias-free projections).
struct CrossAttentionBlock: Sendable {
    let normQuery: NormWeights
    let normOther: NormWeights
    let normFFN: NormWeights
    let q: ConvWeights, k: ConvWeights, v: ConvWeights
    let qDepthwise: ConvWeights, kDepthwise: ConvWeights, vDepthwise: ConvWeights
    let projectOut: ConvWeights
    let temperature: [Float]
    let fc1: LinearWeights, fc2: LinearWeights
    static let heads = 4

    init(_ r: WeightReader, _ prefix: String, dim1: Int, dim2: Int) {
        normQuery = r.norm("\(prefix).norm1_model1.body", dim1)
        normOther = r.norm("\(prefix).norm1_model2.body", dim2)
        normFFN = r.norm("\(prefix).norm1_model1_1.body", dim1)
        temperature = r.floats("\(prefix).attn.temperature", [Self.heads, 1, 1])
        q = r.conv("\(prefix).attn.q", out: dim1, in: dim1, kernel: 1, bias: false)
        k = r.conv("\(prefix).attn.k", out: dim2, in: dim2, kernel: 1, bias: false)
        v = r.conv("\(prefix).attn.v", out: dim2, in: dim2, kernel: 1, bias: false)
        qDepthwise = r.conv("\(prefix).attn.q_dwconv", out: dim1, in: dim1, kernel: 3, groups: dim1, bias: false)
        kDepthwise = r.conv("\(prefix).attn.k_dwconv", out: dim2, in: dim2, kernel: 3, groups: dim2, bias: false)
        vDepthwise = r.conv("\(prefix).attn.v_dwconv", out: dim2, in: dim2, kernel: 3, groups: dim2, bias: false)
        projectOut = r.conv("\(prefix).attn.project_out", out: dim1, in: dim1, kernel: 1, bias: false)
        fc1 = r.linear("\(prefix).ffn.fc1", out: 4 * dim1, in: dim1)
        fc2 = r.linear("\(prefix).ffn.fc2", out: dim1, in: 4 * dim1)
    }

    /// `query` `[H, W, dim1]` fused with `other` `[H, W, dim2]`; returns `[H, W, dim1]`.
    func callAsFunction(query: FeatureMap, other: FeatureMap, _ b: any TensorBackend) -> FeatureMap {
        let a = b.layerNorm(query, normQuery)
        let o = b.layerNorm(other, normOther)
        let qm = b.conv2d(b.conv2d(a, q), qDepthwise)
        let km = b.conv2d(b.conv2d(o, k), kDepthwise)
        let vm = b.conv2d(b.conv2d(o, v), vDepthwise)
        let attended = b.channelAttention(q: qm, k: km, v: vm, heads: Self.heads, temperature: temperature)
        var x = query
        b.conv2d(attended, projectOut, addingTo: &x)
        b.residualMLP(&x, norm: normFFN, fc1: fc1, fc2: fc2)
        return x
    }
}

/// Content-aware motion magnitude module: a soft mask from the quick sharp grey image and
/// the upsampled TFI.
struct CAMMM: Sendable {
    let conv1: ConvWeights
    let sca: ConvWeights
    let conv2: ConvWeights
    static let hardThreshold: Float = 0.1

    init(_ r: WeightReader) {
        conv1 = r.conv("cammm.conv1", out: 32, in: 2, kernel: 3)
        sca = r.conv("cammm.sca.1", out: 33, in: 33, kernel: 1)
        conv2 = r.conv("cammm.conv2", out: 1, in: 33, kernel: 1)
    }

    /// `|gray - tfi|` for the normalisation that spans the whole batch.
    static func difference(gray: FeatureMap, tfi: FeatureMap) -> [Float] {
        gray.data.withUnsafeBufferPointer { g in
            tfi.data.withUnsafeBufferPointer { t in (0..<min(g.count, t.count)).map { abs(g[$0] - t[$0]) } }
        }
    }

    /// The soft mask `[H, W, 1]` given the batch-wide min and max of the difference.
    func callAsFunction(
        gray: FeatureMap, tfi: FeatureMap, difference: [Float], minimum: Float, maximum: Float,
        _ b: any TensorBackend
    ) -> FeatureMap {
        // Reference: normalise, set <= threshold to 1, then everything != 1 to 0 (so an exact
        // 1.0 after normalisation also stays 1).
        let range = maximum - minimum
        let hard = difference.map { d -> Float in
            let n = (d - minimum) / range
            return (n <= Self.hardThreshold || n == 1) ? 1 : 0
        }
        let input = b.concatChannels(gray, tfi)
        let hardMap = FeatureMap(height: gray.height, width: gray.width, channels: 1, data: hard)
        // The reference pools, scales and convolves the concatenation [fused, hard] (33
        // channels at full resolution), fused = conv1(input). Per channel that is the same: the
        // pool of each part, and conv2(f * s) = sum_c (conv2.w[c] s[c]) f[c] + bias, the channel
        // weights folded into conv2's, so the 33-channel map is never built; nor is `fused`
        // (32 channels at full resolution): the backend gives its means and the folded conv2
        // of it without building it.
        let pooled = b.convolvedChannelMeans(input, conv1) + b.globalAveragePool(hardMap)
        let s = b.conv2d(FeatureMap(height: 1, width: 1, channels: 33, data: pooled), sca).data.array
        let folded = ConvWeights(
            outChannels: 1, inChannels: 32, kernel: 1, weight: (0..<32).map { conv2.weight[$0] * s[$0] },
            bias: conv2.bias)
        var mask = b.convolve(input, conv1, then: folded)
        let hardWeight = conv2.weight[32] * s[32]
        b.add(
            &mask, FeatureMap(height: gray.height, width: gray.width, channels: 1, data: hard.map { $0 * hardWeight }))
        b.sigmoid(&mask)
        return mask
    }
}
