internal import CKernels
import Foundation

// The two halves of a transformer block, each in one pass over its input (and in bf16 with
// small weights, the whole block in one): on compact configs (48 channels and fewer) every
// separate op is a pass over a few MiB of tokens that does a few dozen FLOPs per value, so
// the passes cost about as much as the arithmetic.

extension CPUBackend {
    /// `x += fc2(GELU(fc1(LayerNorm(x))))`, row block by row block: each worker normalises a
    /// block of its rows, multiplies it by `fc1` (GELU fused) and `fc2` (residual fused) while
    /// the block and its hidden features stay in L2. The same values as the composed ops.
    public func residualMLP(_ x: inout FeatureMap, norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights) {
        makeUnique(&x)
        let c = x.channels
        precondition(
            norm.weight.count == c && fc1.inFeatures == c && fc2.inFeatures == fc1.outFeatures && fc2.outFeatures == c,
            "residualMLP: \(c) channels, norm \(norm.weight.count), fc1 \(fc1.inFeatures) -> \(fc1.outFeatures), "
                + "fc2 \(fc2.inFeatures) -> \(fc2.outFeatures)")
        let hiddenWidth = fc1.outFeatures
        let rows = x.pixelCount
        // About 256 KiB of hidden features per block.
        let block = max(8, min(1024, (1 << 16) / max(hiddenWidth, 1)) / 8 * 8)
        let epsilon = norm.epsilon
        x.data.withUnsafeMutableBufferPointer { xp in
            norm.weight.withUnsafeBufferPointer { nw in
                norm.bias.withUnsafeBufferPointer { nb in
                    withOperand(fc1) { b1, bias1 in
                        withOperand(fc2) { b2, bias2 in
                            let args = UncheckedSendableBox(
                                (xp.baseAddress!, nw.baseAddress!, nb.baseAddress!, b1, bias1, b2, bias2))
                            parallel(rows, minimumChunk: 256) { range in
                                let (x, nw, nb, b1, bias1, b2, bias2) = args.value
                                let normed = UnsafeMutablePointer<Float>.allocate(capacity: block * c)
                                let hidden = UnsafeMutablePointer<Float>.allocate(capacity: block * hiddenWidth)
                                defer {
                                    normed.deallocate()
                                    hidden.deallocate()
                                }
                                var lo = range.lowerBound
                                while lo < range.upperBound {
                                    let count = min(block, range.upperBound - lo)
                                    normalizeRows(
                                        x + lo * c, index: nil, rows: count, channels: c, nw, nb, epsilon, into: normed)
                                    serialGEMM(
                                        m: count, n: hiddenWidth, k: c, a: normed, lda: c, b: b1, c: hidden,
                                        ldc: hiddenWidth, bias: bias1, accumulate: false, gelu: true)
                                    serialGEMM(
                                        m: count, n: c, k: hiddenWidth, a: hidden, lda: hiddenWidth, b: b2,
                                        c: x + lo * c, ldc: c, bias: bias2, accumulate: true, gelu: false)
                                    lo += count
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `x += proj(attention(qkv(LayerNorm(x))))`, window by window: each worker gathers a
    /// window's 64 tokens, normalises them, computes their `qkv` (64 x 3C), attends, projects
    /// and adds the result back to the tokens, all in L1/L2, instead of five passes over the
    /// whole image. Windows are disjoint sets of tokens, so `x` is updated in place. Heads of
    /// up to 16 channels take the transposed small-head kernel (the composed ops' values to
    /// fp32 rounding; in bf16 its products are taken on bf16-rounded operands, like the
    /// GEMMs'); shapes the AVX-512 attention kernels do not take (windows other than
    /// 8x8, heads above 32 channels) use the composed ops.
    public func residualWindowAttention(
        _ x: inout FeatureMap, norm: NormWeights, _ w: WindowAttentionWeights, shift: Int
    ) {
        windowBlock(&x, norm: norm, w, shift: shift, mlp: nil)
    }

    /// A whole Swin block, `residualWindowAttention` then `residualMLP`, window by window:
    /// each window's 64 tokens also go through the MLP (a per-token function) while they are
    /// in L1/L2, which saves the MLP's pass over the image. The same values as the two ops.
    ///
    /// Only in bf16 and when the four layers' packed weights fit in about 40 KiB: the window
    /// loop multiplies 64 rows at a time by all four, and with more weights than L1 holds
    /// they come from L2 for every window. compact48, 2 cores, loaded machine, A/B medians of
    /// 5: bf16 (37 KiB in the D branch) 0.277 / 0.270 / 0.303 -> 0.246 / 0.259 / 0.255 s;
    /// fp32 (74 KiB in D) 0.330 / 0.292 / 0.319 -> 0.326 / 0.312 / 0.349 s with every block
    /// fused and 0.317 / 0.279 / 0.283 -> 0.313 / 0.294 / 0.314 s with the S blocks (21 KiB)
    /// only, no gain, so fp32 runs the two ops.
    public func residualSwinBlock(
        _ x: inout FeatureMap, norm1: NormWeights, _ w: WindowAttentionWeights, shift: Int, norm2: NormWeights,
        fc1: LinearWeights, fc2: LinearWeights
    ) {
        let c = x.channels
        precondition(
            norm2.weight.count == c && fc1.inFeatures == c && fc2.inFeatures == fc1.outFeatures && fc2.outFeatures == c,
            "residualSwinBlock: MLP weights do not fit \(c) channels")
        let layers = [w.qkv, w.proj, fc1, fc2]
        let weightBytes = layers.reduce(0) { total, l in
            total
                + (precision == .bf16
                    ? 2 * ((l.inFeatures + 1) & ~1) * ((l.outFeatures + 15) & ~15)  // the rows a window reads
                    : 4 * ck_f32_packed_count(Int32(l.inFeatures), Int32(l.outFeatures)))
        }
        guard precision == .bf16, weightBytes <= 40 << 10 else {
            residualWindowAttention(&x, norm: norm1, w, shift: shift)
            residualMLP(&x, norm: norm2, fc1: fc1, fc2: fc2)
            return
        }
        windowBlock(&x, norm: norm1, w, shift: shift, mlp: (norm2, fc1, fc2))
    }

    /// The fused window attention, and the MLP after it when `mlp` is given.
    func windowBlock(
        _ x: inout FeatureMap, norm: NormWeights, _ w: WindowAttentionWeights, shift: Int,
        mlp: (norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights)?
    ) {
        let (h, wd, c) = (x.height, x.width, x.channels)
        let (win, heads) = (w.position.window, w.position.heads)
        precondition(
            norm.weight.count == c && w.qkv.inFeatures == c && w.qkv.outFeatures == 3 * c && w.proj.inFeatures == c
                && w.proj.outFeatures == c, "residualWindowAttention: weights do not fit \(c) channels")
        guard let kernels, win == 8, h % win == 0, wd % win == 0, heads > 0, c % heads == 0, c / heads <= 32
        else {
            let attended = windowAttention(qkv: linear(layerNorm(x, norm), w.qkv), w.position, shift: shift)
            linear(attended, w.proj, addingTo: &x)
            if let mlp { residualMLP(&x, norm: mlp.norm, fc1: mlp.fc1, fc2: mlp.fc2) }
            return
        }
        makeUnique(&x)
        let n = win * win
        let biasMask = Self.windowBiasMask(w.position, height: h, width: wd, shift: shift)
        // In bf16, heads of up to 16 channels (32 on AMX tiles) take products of bf16-rounded
        // operands too.
        let bf16Attention = precision == .bf16 && Precision.cpuHasBF16 && avx512Kernels
        // Heads of up to 16 channels and the bf16 kernels take the transposed layout, which
        // reads the mask with the keys in rows.
        var biasMaskT = [Float](repeating: 0, count: c / heads <= 16 || bf16Attention ? biasMask.count : 0)
        if !biasMaskT.isEmpty {
            for block in 0..<(4 * heads) {
                for i in 0..<n {
                    for j in 0..<n { biasMaskT[(block * n + j) * n + i] = biasMask[(block * n + i) * n + j] }
                }
            }
        }
        let scale = Float(1.0 / Double(c / heads).squareRoot())
        let windowsY = h / win, windowsX = wd / win
        let epsilon = norm.epsilon
        let refused = UncheckedSendableBox(UnsafeMutablePointer<Int32>.allocate(capacity: 1))
        refused.value.initialize(to: 0)
        defer { refused.value.deallocate() }
        x.data.withUnsafeMutableBufferPointer { xp in
            biasMask.withUnsafeBufferPointer { bm in
                biasMaskT.withUnsafeBufferPointer { bt in
                    norm.weight.withUnsafeBufferPointer { nw in
                        norm.bias.withUnsafeBufferPointer { nb in
                            withOperand(w.qkv) { bq, biasQ in
                                withOperand(w.proj) { bp, biasP in
                                    let args = UncheckedSendableBox(
                                        (
                                            xp.baseAddress!, bm.baseAddress!, bt.baseAddress, nw.baseAddress!,
                                            nb.baseAddress!, bq,
                                            biasQ,
                                            bp, biasP
                                        ))
                                    withMLPOperands(mlp) { mlpOperands in
                                        let mlpBox = UncheckedSendableBox(mlpOperands)
                                        parallel(windowsY * windowsX) { range in
                                            let (x, bm, bt, nw, nb, bq, biasQ, bp, biasP) = args.value
                                            let m = mlpBox.value
                                            let hiddenWidth = m?.hidden ?? 0
                                            let tokensX = UnsafeMutablePointer<Float>.allocate(
                                                capacity: m == nil ? 0 : n * c)
                                            let hidden = UnsafeMutablePointer<Float>.allocate(capacity: n * hiddenWidth)
                                            defer {
                                                tokensX.deallocate()
                                                hidden.deallocate()
                                            }
                                            let normed = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
                                            let qkv = UnsafeMutablePointer<Float>.allocate(capacity: n * 3 * c + 16)
                                            // The kernel may read 16 floats past the rows.
                                            (qkv + n * 3 * c).initialize(repeating: 0, count: 16)
                                            let attended = UnsafeMutablePointer<Float>.allocate(capacity: n * c + 16)
                                            let projected = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
                                            let tokens = UnsafeMutablePointer<Int32>.allocate(capacity: n)
                                            defer {
                                                normed.deallocate(); qkv.deallocate(); attended.deallocate()
                                                projected.deallocate(); tokens.deallocate()
                                            }
                                            for wi in range {
                                                let wy = wi / windowsX, wx = wi % windowsX
                                                let kind =
                                                    shift > 0
                                                    ? (wy == windowsY - 1 ? 1 : 0) + (wx == windowsX - 1 ? 2 : 0) : 0
                                                for t in 0..<n {
                                                    // Position in the rolled image, and the token it reads.
                                                    let sy = wy * win + t / win, sx = wx * win + t % win
                                                    tokens[t] = Int32(((sy + shift) % h) * wd + (sx + shift) % wd)
                                                }
                                                normalizeRows(
                                                    x, index: tokens, rows: n, channels: c, nw, nb, epsilon,
                                                    into: normed)
                                                serialGEMM(
                                                    m: n, n: 3 * c, k: c, a: normed, lda: c, b: bq, c: qkv, ldc: 3 * c,
                                                    bias: biasQ, accumulate: false, gelu: false)
                                                let btKind = bt.map { $0 + kind * heads * n * n }
                                                var ok: Int32 = 0
                                                if bf16Attention, let btKind {
                                                    ok = ck_window_attention_block_bf16(
                                                        qkv, attended, Int32(c), Int32(heads), btKind, scale)
                                                }
                                                if ok == 0 {
                                                    ok = kernels.windowAttentionBlock(
                                                        qkv, attended, Int32(c), Int32(heads),
                                                        bm + kind * heads * n * n, btKind, scale)
                                                }
                                                if ok == 0 {
                                                    refused.value.pointee = 1
                                                    return
                                                }
                                                serialGEMM(
                                                    m: n, n: c, k: c, a: attended, lda: c, b: bp, c: projected, ldc: c,
                                                    bias: biasP, accumulate: false, gelu: false)
                                                guard let m else {
                                                    for t in 0..<n {
                                                        Self.addRow(
                                                            projected + t * c, to: x + Int(tokens[t]) * c, count: c)
                                                    }
                                                    continue
                                                }
                                                // The attention's residual into the window's own copy
                                                // of its tokens, then the MLP on that copy, then back.
                                                for t in 0..<n {
                                                    let src = x + Int(tokens[t]) * c
                                                    (tokensX + t * c).update(from: src, count: c)
                                                    Self.addRow(projected + t * c, to: tokensX + t * c, count: c)
                                                }
                                                normalizeRows(
                                                    tokensX, index: nil, rows: n, channels: c, m.normWeight, m.normBias,
                                                    m.epsilon, into: normed)
                                                serialGEMM(
                                                    m: n, n: hiddenWidth, k: c, a: normed, lda: c, b: m.fc1, c: hidden,
                                                    ldc: hiddenWidth, bias: m.bias1, accumulate: false, gelu: true)
                                                serialGEMM(
                                                    m: n, n: c, k: hiddenWidth, a: hidden, lda: hiddenWidth, b: m.fc2,
                                                    c: tokensX, ldc: c, bias: m.bias2, accumulate: true, gelu: false)
                                                for t in 0..<n {
                                                    (x + Int(tokens[t]) * c).update(from: tokensX + t * c, count: c)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        precondition(
            refused.value.pointee == 0,
            "residualWindowAttention: the \(kernels.instructionSet.rawValue) kernel refused \(c) channels in \(heads) heads"
        )
    }

    /// A transformer MLP's weights as the fused kernels take them.
    struct MLPOperands {
        let normWeight: UnsafePointer<Float>
        let normBias: UnsafePointer<Float>
        let epsilon: Float
        let fc1: GEMMOperand
        let bias1: UnsafePointer<Float>?
        let fc2: GEMMOperand
        let bias2: UnsafePointer<Float>?
        /// fc1's outputs.
        let hidden: Int
    }

    /// Calls `body` with the operands of `mlp` (nil without one).
    func withMLPOperands(
        _ mlp: (norm: NormWeights, fc1: LinearWeights, fc2: LinearWeights)?, _ body: (MLPOperands?) -> Void
    ) {
        guard let mlp else {
            body(nil)
            return
        }
        mlp.norm.weight.withUnsafeBufferPointer { nw in
            mlp.norm.bias.withUnsafeBufferPointer { nb in
                withOperand(mlp.fc1) { b1, bias1 in
                    withOperand(mlp.fc2) { b2, bias2 in
                        body(
                            MLPOperands(
                                normWeight: nw.baseAddress!, normBias: nb.baseAddress!, epsilon: mlp.norm.epsilon,
                                fc1: b1, bias1: bias1, fc2: b2, bias2: bias2, hidden: mlp.fc1.outFeatures))
                    }
                }
            }
        }
    }

    /// `y[i] += v[i]` for `count` values, 16 at a time.
    @inline(__always)
    static func addRow(_ v: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
        typealias V = SIMD16<Float>
        let vectors = count / 16
        let (vr, yr) = (UnsafeRawPointer(v), UnsafeMutableRawPointer(y))
        for i in 0..<vectors {
            let sum =
                yr.loadUnaligned(fromByteOffset: i * 64, as: V.self)
                + vr.loadUnaligned(fromByteOffset: i * 64, as: V.self)
            yr.storeBytes(of: sum, toByteOffset: i * 64, as: V.self)
        }
        for i in (vectors * 16)..<count { y[i] += v[i] }
    }
}
