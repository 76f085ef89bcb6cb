internal import CKernels
import Foundation

extension CPUBackend {
    public func windowAttention(_ x: FeatureMap, _ w: WindowAttentionWeights, shift: Int) -> FeatureMap {
        // qkv for every token at once (the roll and window partition only permute tokens).
        let qkv = linear(x, w.qkv)
        let attended = windowAttention(qkv: qkv, w.position, shift: shift)
        var out = FeatureMap(uninitializedHeight: x.height, width: x.width, channels: w.proj.outFeatures)
        linear(rows: x.pixelCount, attended.data, w.proj, into: &out.data)
        return out
    }

    public func windowAttention(qkv: FeatureMap, _ w: WindowPositionBias, shift: Int) -> FeatureMap {
        let (h, wd, c) = (qkv.height, qkv.width, qkv.channels / 3)
        precondition(qkv.channels == 3 * c, "windowAttention: qkv has \(qkv.channels) channels, not 3C")
        let win = w.window
        precondition(
            h % win == 0 && wd % win == 0, "windowAttention: \(h)x\(wd) is not a multiple of the window \(win)")
        precondition((win * win) % 16 == 0, "windowAttention: windows of \(win * win) tokens are not a multiple of 16")
        let heads = w.heads
        let d = c / heads
        let n = win * win
        let scale = Float(1.0 / Double(d).squareRoot())
        let qkv = qkv.data
        var attended = TensorBuffer(uninitialized: h * wd * c)
        let windowsY = h / win, windowsX = wd / win
        let biasMask = Self.windowBiasMask(w, height: h, width: wd, shift: shift)
        if win == 8 && d <= 32, let kernels {
            // The kernel of CKernels, windows split over the workers.
            let done = qkv.withUnsafeBufferPointer { qp in
                attended.withUnsafeMutableBufferPointer { ap in
                    biasMask.withUnsafeBufferPointer { bp in
                        let pointers = UncheckedSendableBox((qp.baseAddress!, ap.baseAddress!, bp.baseAddress!))
                        let all = UncheckedSendableBox(UnsafeMutablePointer<Int32>.allocate(capacity: 1))
                        all.value.initialize(to: 1)
                        defer { all.value.deallocate() }
                        parallel(windowsY * windowsX) { range in
                            let (q, a, b) = pointers.value
                            let ok = kernels.windowAttention(
                                q, a, Int32(h), Int32(wd), Int32(c), Int32(heads), Int32(shift), b, scale,
                                Int32(range.lowerBound), Int32(range.count))
                            if ok == 0 { all.value.pointee = 0 }
                        }
                        return all.value.pointee == 1
                    }
                }
            }
            precondition(
                done,
                "windowAttention: the \(kernels.instructionSet.rawValue) kernel refused \(c) channels in \(heads) heads"
            )
            return FeatureMap(height: h, width: wd, channels: c, data: attended)
        }
        // Head dim padded to whole vectors (to 32 for the blocked 64-token kernel).
        let dp = d <= 32 && n == 64 ? 32 : (d + 15) / 16 * 16
        let nv = n / 16
        qkv.withUnsafeBufferPointer { qp in
            attended.withUnsafeMutableBufferPointer { ap in
                biasMask.withUnsafeBufferPointer { bp in
                    parallel(windowsY * windowsX) { range in
                        let q = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
                        let kT = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: d * nv)
                        let v = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: n * dp / 16)
                        let scores = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: max(nv, 16))
                        let acc = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: dp / 16)
                        defer { q.deallocate(); kT.deallocate(); v.deallocate(); scores.deallocate(); acc.deallocate() }
                        var tokens = [Int](repeating: 0, count: n)
                        for wi in range {
                            let wy = wi / windowsX, wx = wi % windowsX
                            let kind = shift > 0 ? (wy == windowsY - 1 ? 1 : 0) + (wx == windowsX - 1 ? 2 : 0) : 0
                            for t in 0..<n {
                                // Position in the rolled image, and the original token it reads.
                                let sy = wy * win + t / win, sx = wx * win + t % win
                                tokens[t] = ((sy + shift) % h) * wd + (sx + shift) % wd
                            }
                            for head in 0..<heads {
                                let kTf = UnsafeMutableRawPointer(kT).assumingMemoryBound(to: Float.self)
                                let vf = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self)
                                for t in 0..<n {
                                    let base = tokens[t] * 3 * c + head * d
                                    for e in 0..<d {
                                        q[t * d + e] = qp[base + e] * scale
                                        kTf[e * n + t] = qp[base + c + e]
                                        vf[t * dp + e] = qp[base + 2 * c + e]
                                    }
                                    for e in d..<dp { vf[t * dp + e] = 0 }
                                }
                                let bm = bp.baseAddress! + (kind * heads + head) * n * n
                                if n == 64 && dp == 32 {
                                    Self.attend64(
                                        q: q, kT: kT, v: v, biasMask: bm, d: d, tokens: tokens, out: ap.baseAddress!,
                                        channels: c, headOffset: head * d, scratch: scores)
                                    continue
                                }
                                for i in 0..<n {
                                    // scores = q_i K^T + bias + mask, 16 keys per vector.
                                    let biasRow = UnsafeRawPointer(bm + i * n)
                                    for jv in 0..<nv {
                                        scores[jv] = biasRow.loadUnaligned(
                                            fromByteOffset: jv * 64, as: SIMD16<Float>.self)
                                    }
                                    for e in 0..<d {
                                        let qe = q[i * d + e]
                                        for jv in 0..<nv { scores[jv] += qe * kT[e * nv + jv] }
                                    }
                                    var maxV = scores[0]
                                    for jv in 1..<max(nv, 1) {
                                        maxV = maxV.replacing(with: scores[jv], where: scores[jv] .> maxV)
                                    }
                                    let m = maxV.max()
                                    var sumV = SIMD16<Float>()
                                    for jv in 0..<nv {
                                        let e = SIMDMath.exp(scores[jv] - m)
                                        scores[jv] = e
                                        sumV += e
                                    }
                                    let inv = 1 / sumV.sum()
                                    for ev in 0..<(dp / 16) { acc[ev] = SIMD16<Float>() }
                                    let sf = UnsafeMutableRawPointer(scores).assumingMemoryBound(to: Float.self)
                                    for j in 0..<n {
                                        let p = sf[j]
                                        for ev in 0..<(dp / 16) { acc[ev] += p * v[j * (dp / 16) + ev] }
                                    }
                                    let out = tokens[i] * c + head * d
                                    let af = UnsafeMutableRawPointer(acc).assumingMemoryBound(to: Float.self)
                                    for e in 0..<d { ap[out + e] = af[e] * inv }
                                }
                            }
                        }
                    }
                }
            }
        }
        return FeatureMap(height: h, width: wd, channels: c, data: attended)
    }

    /// The position bias plus the shifted-window mask per window kind (interior, last row,
    /// last column, corner; only windows on the last row or column straddle the regions of
    /// the roll), `[4][heads][n][n]` for `n = window^2` tokens.
    static func windowBiasMask(_ w: WindowPositionBias, height h: Int, width wd: Int, shift: Int) -> [Float] {
        let (win, heads) = (w.window, w.heads)
        let n = win * win
        let windowsY = h / win, windowsX = wd / win
        // Region labels of the shifted-window mask, per rolled row/column.
        func region(_ v: Int, _ size: Int) -> Int { v < size - win ? 0 : (v < size - shift ? 1 : 2) }
        var biasMask = [Float](repeating: 0, count: 4 * heads * n * n)
        for kind in 0..<4 {
            let wy = kind & 1 == 1 ? windowsY - 1 : 0
            let wx = kind & 2 == 2 ? windowsX - 1 : 0
            var labels = [Int](repeating: 0, count: n)
            for t in 0..<n where shift > 0 {
                labels[t] = 3 * region(wy * win + t / win, h) + region(wx * win + t % win, wd)
            }
            for head in 0..<heads {
                for i in 0..<n {
                    for j in 0..<n {
                        biasMask[((kind * heads + head) * n + i) * n + j] =
                            w.bias[(head * n + i) * n + j] + (labels[i] != labels[j] ? -100 : 0)
                    }
                }
            }
        }
        return biasMask
    }

    public func channelAttention(q: FeatureMap, k: FeatureMap, v: FeatureMap, heads: Int, temperature: [Float])
        -> FeatureMap
    {
        precondition(
            q.pixelCount == k.pixelCount && k.pixelCount == v.pixelCount, "channelAttention: pixel counts differ")
        let p = q.pixelCount
        let (c1, c2) = (q.channels, k.channels)
        let (d1, d2) = (c1 / heads, c2 / heads)
        // L2 norms of every channel over the pixels (F.normalize: divide by max(norm, 1e-12)).
        // Each worker sums the squares of its share of the pixels, the shares added in order.
        func norms(_ m: FeatureMap) -> [Float] {
            let c = m.channels
            let workers = max(1, min(threads, p / 4096))
            let chunk = (p + workers - 1) / workers
            var partial = [Float](repeating: 0, count: workers * c)
            m.data.withUnsafeBufferPointer { mp in
                partial.withUnsafeMutableBufferPointer { sp in
                    let (src, sums) = (UncheckedSendableBox(mp.baseAddress!), UncheckedSendableBox(sp.baseAddress!))
                    parallel(workers) { range in
                        for wi in range {
                            let s = sums.value + wi * c
                            for i in (wi * chunk)..<min(p, (wi + 1) * chunk) {
                                let row = src.value + i * c
                                for ch in 0..<c { s[ch] += row[ch] * row[ch] }
                            }
                        }
                    }
                }
            }
            return (0..<c).map { ch in
                1 / max((0..<workers).reduce(Float(0)) { $0 + partial[$1 * c + ch] }.squareRoot(), 1e-12)
            }
        }
        let qn = norms(q), kn = norms(k)
        var out = FeatureMap(uninitializedHeight: q.height, width: q.width, channels: c1)
        var gram = [Float](repeating: 0, count: d1 * d2)
        for h in 0..<heads {
            // gram = q_h^T k_h over pixels: [d1, d2].
            q.data.withUnsafeBufferPointer { qp in
                k.data.withUnsafeBufferPointer { kp in
                    gram.withUnsafeMutableBufferPointer { gp in
                        cblasGemmTN(
                            m: d1, n: d2, k: p, a: qp.baseAddress! + h * d1, lda: c1,
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
                        fusedGEMM(
                            m: p, n: d1, k: d2, a: vp.baseAddress! + h * d2, lda: c2,
                            b: .fp32(gp.baseAddress!, ldb: d2, transposed: true), c: op.baseAddress! + h * d1, ldc: c1,
                            bias: nil, accumulate: false, gelu: false)
                    }
                }
            }
        }
        return out
    }
}

extension CPUBackend {
    /// Attention of one 64-token window and head, four query rows at a time so each loaded
    /// key/value vector feeds four FMAs.
    /// - Parameters:
    ///   - q: `[64, d]` scaled queries; `kT`: `[d, 4]` vectors (keys transposed);
    ///   - v: `[64, 2]` vectors (values, head dim padded to 32); `biasMask`: `[64, 64]`;
    ///   - scratch: room for 16 vectors (4 rows of 64 probabilities).
    @inline(__always)
    static func attend64(
        q: UnsafeMutablePointer<Float>, kT: UnsafeMutablePointer<SIMD16<Float>>,
        v: UnsafeMutablePointer<SIMD16<Float>>, biasMask: UnsafePointer<Float>, d: Int,
        tokens: [Int], out: UnsafeMutablePointer<Float>, channels c: Int, headOffset: Int,
        scratch: UnsafeMutablePointer<SIMD16<Float>>
    ) {
        typealias V = SIMD16<Float>
        let bias = UnsafeRawPointer(biasMask)
        for i0 in stride(from: 0, to: 64, by: 4) {
            var s = (V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V(), V())
            @inline(__always) func load(_ row: Int, _ jv: Int) -> V {
                bias.loadUnaligned(fromByteOffset: ((i0 + row) * 64 + jv * 16) * 4, as: V.self)
            }
            s.0 = load(0, 0); s.1 = load(0, 1); s.2 = load(0, 2); s.3 = load(0, 3)
            s.4 = load(1, 0); s.5 = load(1, 1); s.6 = load(1, 2); s.7 = load(1, 3)
            s.8 = load(2, 0); s.9 = load(2, 1); s.10 = load(2, 2); s.11 = load(2, 3)
            s.12 = load(3, 0); s.13 = load(3, 1); s.14 = load(3, 2); s.15 = load(3, 3)
            for e in 0..<d {
                let k0 = kT[e * 4], k1 = kT[e * 4 + 1], k2 = kT[e * 4 + 2], k3 = kT[e * 4 + 3]
                let a = q[i0 * d + e], b = q[(i0 + 1) * d + e], cc = q[(i0 + 2) * d + e], dd = q[(i0 + 3) * d + e]
                s.0 += a * k0; s.1 += a * k1; s.2 += a * k2; s.3 += a * k3
                s.4 += b * k0; s.5 += b * k1; s.6 += b * k2; s.7 += b * k3
                s.8 += cc * k0; s.9 += cc * k1; s.10 += cc * k2; s.11 += cc * k3
                s.12 += dd * k0; s.13 += dd * k1; s.14 += dd * k2; s.15 += dd * k3
            }
            @inline(__always) func softmax(_ x0: inout V, _ x1: inout V, _ x2: inout V, _ x3: inout V) -> Float {
                var m = x0.replacing(with: x1, where: x1 .> x0)
                m = m.replacing(with: x2, where: x2 .> m)
                m = m.replacing(with: x3, where: x3 .> m)
                let top = m.max()
                x0 = SIMDMath.exp(x0 - top); x1 = SIMDMath.exp(x1 - top)
                x2 = SIMDMath.exp(x2 - top); x3 = SIMDMath.exp(x3 - top)
                return 1 / (x0 + x1 + x2 + x3).sum()
            }
            let inv0 = softmax(&s.0, &s.1, &s.2, &s.3)
            let inv1 = softmax(&s.4, &s.5, &s.6, &s.7)
            let inv2 = softmax(&s.8, &s.9, &s.10, &s.11)
            let inv3 = softmax(&s.12, &s.13, &s.14, &s.15)
            scratch[0] = s.0; scratch[1] = s.1; scratch[2] = s.2; scratch[3] = s.3
            scratch[4] = s.4; scratch[5] = s.5; scratch[6] = s.6; scratch[7] = s.7
            scratch[8] = s.8; scratch[9] = s.9; scratch[10] = s.10; scratch[11] = s.11
            scratch[12] = s.12; scratch[13] = s.13; scratch[14] = s.14; scratch[15] = s.15
            let p = UnsafeRawPointer(scratch).assumingMemoryBound(to: Float.self)
            var o = (V(), V(), V(), V(), V(), V(), V(), V())
            for j in 0..<64 {
                let v0 = v[2 * j], v1 = v[2 * j + 1]
                let a = p[j], b = p[64 + j], cc = p[128 + j], dd = p[192 + j]
                o.0 += a * v0; o.1 += a * v1
                o.2 += b * v0; o.3 += b * v1
                o.4 += cc * v0; o.5 += cc * v1
                o.6 += dd * v0; o.7 += dd * v1
            }
            @inline(__always) func store(_ row: Int, _ lo: V, _ hi: V, _ inv: Float) {
                let dst = out + tokens[i0 + row] * c + headOffset
                let a = lo * inv, b = hi * inv
                for e in 0..<min(d, 16) { dst[e] = a[e] }
                if d > 16 { for e in 16..<d { dst[e] = b[e - 16] } }
            }
            store(0, o.0, o.1, inv0); store(1, o.2, o.3, inv1); store(2, o.4, o.5, inv2); store(3, o.6, o.7, inv3)
        }
    }
}
