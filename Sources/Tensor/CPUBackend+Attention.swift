import Foundation

extension CPUBackend {
    public func windowAttention(_ x: FeatureMap, _ w: WindowAttentionWeights, shift: Int) -> FeatureMap {
        let (h, wd, c) = (x.height, x.width, x.channels)
        let win = w.window
        precondition(h % win == 0 && wd % win == 0, "windowAttention: \(h)x\(wd) is not a multiple of the window \(win)")
        let heads = w.heads
        let d = c / heads
        let n = win * win
        let scale = Float(1.0 / Double(d).squareRoot())
        // qkv for every token at once (the roll and window partition only permute tokens).
        var qkv = [Float](repeating: 0, count: x.pixelCount * 3 * c)
        linear(rows: x.pixelCount, x.data, w.qkv, into: &qkv)
        var attended = [Float](repeating: 0, count: x.pixelCount * c)
        let windowsY = h / win, windowsX = wd / win
        // Region labels of the shifted-window mask, per shifted row/column.
        func region(_ v: Int, _ size: Int) -> Int { v < size - win ? 0 : (v < size - shift ? 1 : 2) }
        qkv.withUnsafeBufferPointer { qp in
            attended.withUnsafeMutableBufferPointer { ap in
                w.bias.withUnsafeBufferPointer { bp in
                    parallel(windowsY * windowsX) { range in
                        var tokens = [Int](repeating: 0, count: n)
                        var labels = [Int](repeating: 0, count: n)
                        var q = [Float](repeating: 0, count: n * d)
                        var k = [Float](repeating: 0, count: n * d)
                        var v = [Float](repeating: 0, count: n * d)
                        var scores = [Float](repeating: 0, count: n)
                        for wi in range {
                            let wy = wi / windowsX, wx = wi % windowsX
                            for t in 0..<n {
                                // Position in the rolled image, and the original token it reads.
                                let sy = wy * win + t / win, sx = wx * win + t % win
                                tokens[t] = ((sy + shift) % h) * wd + (sx + shift) % wd
                                labels[t] = shift > 0 ? 3 * region(sy, h) + region(sx, wd) : 0
                            }
                            for head in 0..<heads {
                                for t in 0..<n {
                                    let base = tokens[t] * 3 * c + head * d
                                    for e in 0..<d {
                                        q[t * d + e] = qp[base + e] * scale
                                        k[t * d + e] = qp[base + c + e]
                                        v[t * d + e] = qp[base + 2 * c + e]
                                    }
                                }
                                let biasBase = head * n * n
                                for i in 0..<n {
                                    var maxScore = -Float.infinity
                                    for j in 0..<n {
                                        var s: Float = 0
                                        for e in 0..<d { s += q[i * d + e] * k[j * d + e] }
                                        s += bp[biasBase + i * n + j]
                                        if labels[i] != labels[j] { s += -100 }
                                        scores[j] = s
                                        maxScore = max(maxScore, s)
                                    }
                                    var sum: Float = 0
                                    for j in 0..<n {
                                        let e = expf(scores[j] - maxScore)
                                        scores[j] = e
                                        sum += e
                                    }
                                    let inv = 1 / sum
                                    let out = tokens[i] * c + head * d
                                    for e in 0..<d { ap[out + e] = 0 }
                                    for j in 0..<n {
                                        let p = scores[j] * inv
                                        for e in 0..<d { ap[out + e] += p * v[j * d + e] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var out = FeatureMap(height: h, width: wd, channels: c)
        linear(rows: x.pixelCount, attended, w.proj, into: &out.data)
        return out
    }

    public func channelAttention(q: FeatureMap, k: FeatureMap, v: FeatureMap, heads: Int, temperature: [Float]) -> FeatureMap {
        precondition(q.pixelCount == k.pixelCount && k.pixelCount == v.pixelCount, "channelAttention: pixel counts differ")
        let p = q.pixelCount
        let (c1, c2) = (q.channels, k.channels)
        let (d1, d2) = (c1 / heads, c2 / heads)
        // L2 norms of every channel over the pixels (F.normalize: divide by max(norm, 1e-12)).
        func norms(_ m: FeatureMap) -> [Float] {
            var sums = [Float](repeating: 0, count: m.channels)
            for i in 0..<p { for ch in 0..<m.channels { let x = m.data[i * m.channels + ch]; sums[ch] += x * x } }
            return sums.map { 1 / max($0.squareRoot(), 1e-12) }
        }
        let qn = norms(q), kn = norms(k)
        var out = FeatureMap(height: q.height, width: q.width, channels: c1)
        var gram = [Float](repeating: 0, count: d1 * d2)
        for h in 0..<heads {
            // gram = q_h^T k_h over pixels: [d1, d2].
            q.data.withUnsafeBufferPointer { qp in
                k.data.withUnsafeBufferPointer { kp in
                    gram.withUnsafeMutableBufferPointer { gp in
                        cblasGemmTN(m: d1, n: d2, k: p, a: qp.baseAddress! + h * d1, lda: c1,
                                    b: kp.baseAddress! + h * d2, ldb: c2, c: gp.baseAddress!, ldc: d2)
                    }
                }
            }
            for i in 0..<d1 {
                var maxScore = -Float.infinity
                for j in 0..<d2 {
                    let s = gram[i * d2 + j] * qn[h * d1 + i] * kn[h * d2 + j] * temperature[h]
                    gram[i * d2 + j] = s
                    maxScore = max(maxScore, s)
                }
                var sum: Float = 0
                for j in 0..<d2 { let e = expf(gram[i * d2 + j] - maxScore); gram[i * d2 + j] = e; sum += e }
                for j in 0..<d2 { gram[i * d2 + j] /= sum }
            }
            // out_h[pixel, i] = sum_j v_h[pixel, j] * A[i, j].
            v.data.withUnsafeBufferPointer { vp in
                gram.withUnsafeBufferPointer { gp in
                    out.data.withUnsafeMutableBufferPointer { op in
                        gemm(m: p, n: d1, k: d2, a: vp.baseAddress! + h * d2, lda: c2, b: gp.baseAddress!, ldb: d2,
                             transposeB: true, c: op.baseAddress! + h * d1, ldc: c1)
                    }
                }
            }
        }
        return out
    }
}
