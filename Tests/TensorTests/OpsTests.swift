import Foundation
import Testing

@testable import Tensor

// The CPU backend checked against independent, naive double-precision implementations.

private func randomMap(_ h: Int, _ w: Int, _ c: Int, seed: UInt64) -> FeatureMap {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    func next() -> Float {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state % 10_000) / 5_000 - 1
    }
    return FeatureMap(height: h, width: w, channels: c, data: (0..<(h * w * c)).map { _ in next() })
}

private func randomFloats(_ n: Int, seed: UInt64) -> [Float] { randomMap(1, 1, n, seed: seed).data.array }

private func maxDiff<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

private let backend = CPUBackend(threads: 2)

/// `conv2d(x, w)` as a direct sum in Double per output value, `[ho, wo, cout]`.
private func directConv(_ x: FeatureMap, _ w: ConvWeights) -> [Double] {
    let (k, s, p, cout, groups) = (w.kernel, w.stride, w.padding, w.outChannels, w.groups)
    let perGroup = w.inChannels / groups
    let (ho, wo) = w.outputSize(height: x.height, width: x.width)
    var out = [Double](repeating: 0, count: ho * wo * cout)
    for oy in 0..<ho {
        for ox in 0..<wo {
            for o in 0..<cout {
                var sum = Double(w.bias?[o] ?? 0)
                for i in 0..<perGroup {
                    let ic = o / (cout / groups) * perGroup + i
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let iy = oy * s - p + ky, ix = ox * s - p + kx
                            guard iy >= 0, iy < x.height, ix >= 0, ix < x.width else { continue }
                            sum += Double(x[iy, ix, ic]) * Double(w.weight[((o * perGroup + i) * k + ky) * k + kx])
                        }
                    }
                }
                out[(oy * wo + ox) * cout + o] = sum
            }
        }
    }
    return out
}

@Suite struct OpsTests {
    @Test(arguments: [
        (1, 1, 0, false), (3, 1, 1, false), (3, 2, 1, false), (3, 1, 1, true), (3, 2, 1, true), (5, 1, 2, false),
        (3, 2, 2, false), (5, 3, 4, false),
    ])
    func conv2dMatchesDirectSum(kernel: Int, stride: Int, padding: Int, depthwise: Bool) {
        let (cin, h, w) = (5, 9, 7)
        let cout = depthwise ? cin : 4
        let groups = depthwise ? cin : 1
        let x = randomMap(h, w, cin, seed: 1)
        let weight = randomFloats(cout * (cin / groups) * kernel * kernel, seed: 2)
        let bias = randomFloats(cout, seed: 3)
        let conv = ConvWeights(
            outChannels: cout, inChannels: cin, kernel: kernel, stride: stride, padding: padding,
            groups: groups, weight: weight, bias: bias)
        let y = backend.conv2d(x, conv)
        let (ho, wo) = conv.outputSize(height: h, width: w)
        #expect(y.height == ho && y.width == wo && y.channels == cout)
        let expected = directConv(x, conv).map { Float($0) }
        #expect(maxDiff(y.data, expected) < 1e-4)
    }

    /// The convolutions reduced without their map (fp32: means from per-tap input sums, a
    /// one-channel 1x1 after them folded into one convolution) against direct sums.
    @Test(arguments: [
        (3, 1, 1, 2), (3, 2, 1, 4), (1, 1, 0, 3), (5, 1, 2, 1), (3, 2, 0, 2), (5, 3, 4, 2), (3, 3, 1, 3), (3, 1, 0, 2),
        (3, 1, 2, 3),
    ])
    func reducedConvolutionsMatchDirectSums(kernel: Int, stride: Int, padding: Int, cin: Int) {
        let (h, w, cout) = (13, 29, 6)
        let x = randomMap(h, w, cin, seed: 4)
        let first = ConvWeights(
            outChannels: cout, inChannels: cin, kernel: kernel, stride: stride, padding: padding,
            weight: randomFloats(cout * cin * kernel * kernel, seed: 5), bias: randomFloats(cout, seed: 6))
        let second = ConvWeights(
            outChannels: 1, inChannels: cout, kernel: 1, weight: randomFloats(cout, seed: 7), bias: [0.5])
        let map = directConv(x, first)
        let pixels = map.count / cout
        let means = (0..<cout).map { c in (0..<pixels).reduce(0.0) { $0 + map[$1 * cout + c] } / Double(pixels) }
        #expect(maxDiff(backend.convolvedChannelMeans(x, first), means.map { Float($0) }) < 1e-5)
        let reduced = backend.convolve(x, first, then: second)
        let (ho, wo) = first.outputSize(height: h, width: w)
        #expect(reduced.height == ho && reduced.width == wo && reduced.channels == 1)
        let expected = (0..<pixels).map { px in
            Float((0..<cout).reduce(0.5) { $0 + Double(second.weight[$1]) * map[px * cout + $1] })
        }
        #expect(maxDiff(reduced.data, expected) < 1e-4)
    }

    @Test func linearAndLayerNorm() {
        let x = randomMap(3, 4, 6, seed: 5)
        let lw = LinearWeights(outFeatures: 2, inFeatures: 6, weight: randomFloats(12, seed: 6), bias: [0.5, -1])
        let y = backend.linear(x, lw)
        for p in 0..<12 {
            for o in 0..<2 {
                var s = Double(lw.bias?[o] ?? 0)
                for i in 0..<6 { s += Double(x.data[p * 6 + i]) * Double(lw.weight[o * 6 + i]) }
                #expect(abs(y.data[p * 2 + o] - Float(s)) < 1e-5)
            }
        }
        let c = 37  // not a multiple of the vector width
        let z = randomMap(2, 3, c, seed: 7)
        let gamma = randomFloats(c, seed: 8), beta = randomFloats(c, seed: 9)
        let n = backend.layerNorm(z, NormWeights(weight: gamma, bias: beta))
        for p in 0..<6 {
            let row = (0..<c).map { Double(z.data[p * c + $0]) }
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for i in 0..<c {
                let e = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])
                #expect(abs(Double(n.data[p * c + i]) - e) < 1e-5)
            }
        }
    }

    @Test(arguments: F32Kernels.choices)
    func geluAndSigmoidMatchTheirDefinitions(kernels: String) {
        var backend = backend
        backend.kernels = F32Kernels.named(kernels)
        // Every lane position and a masked tail (203 values), -8.4 ... 8.4.
        var x = FeatureMap(height: 1, width: 1, channels: 203, data: (0..<203).map { Float($0 - 101) / 12 })
        let original = x.data
        backend.gelu(&x)
        for (v, g) in zip(original, x.data) {
            let e = 0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))
            #expect(abs(Double(g) - e) < 2e-6, "gelu(\(v))")
        }
        var s = FeatureMap(height: 1, width: 1, channels: 3, data: [-2, 0, 3])
        backend.sigmoid(&s)
        #expect(maxDiff(s.data, [Float(1 / (1 + exp(2.0))), 0.5, Float(1 / (1 + exp(-3.0)))]) < 1e-6)
    }

    @Test func pixelShufflePadCropAndResize() {
        // PixelShuffle(2): out[c, 2h+i, 2w+j] = in[4c + 2i + j, h, w].
        let x = FeatureMap(height: 1, width: 1, channels: 8, data: [0, 1, 2, 3, 4, 5, 6, 7])
        let y = backend.pixelShuffle(x, factor: 2)
        #expect(y.height == 2 && y.width == 2 && y.channels == 2)
        #expect(y.chw() == [0, 1, 2, 3, 4, 5, 6, 7])
        // Reflect pad without repeating the edge: [a b c] -> [a b c b].
        let r = FeatureMap(height: 3, width: 3, channels: 1, data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let padded = backend.reflectPad(r, toMultipleOf: 4)
        #expect(padded.height == 4 && padded.width == 4)
        #expect(padded.data == [1, 2, 3, 2, 4, 5, 6, 5, 7, 8, 9, 8, 4, 5, 6, 5])
        #expect(backend.crop(padded, height: 3, width: 3) == r)
        // Bilinear, align_corners false, edges clamped.
        let line = FeatureMap(height: 1, width: 2, channels: 1, data: [0, 1])
        #expect(backend.resizeBilinear(line, height: 1, width: 4).data == [0, 0.25, 0.75, 1])
    }

    // torch.roll over both spatial axes: out[y, x] = in[(y - s) mod H, (x - s) mod W].
    @Test(arguments: [-4, -1, 0, 3, 9])
    func rollMatchesNaive(shift: Int) {
        let x = randomMap(5, 7, 3, seed: 41)
        let y = backend.roll(x, by: shift)
        var expected = x
        for yy in 0..<5 {
            for xx in 0..<7 {
                for c in 0..<3 {
                    expected[yy, xx, c] = x[((yy - shift) % 5 + 5) % 5, ((xx - shift) % 7 + 7) % 7, c]
                }
            }
        }
        #expect(y == expected)
        #expect(backend.roll(y, by: -shift) == x)
    }

    // Head sizes 4 and 20 (one and two vectors in the kernels), 36 (Swift only), with and
    // without the shifted-window mask, through each kernel build and the Swift fallback.
    @Test(arguments: [(0, 12), (4, 12), (4, 60), (4, 108)], F32Kernels.choices)
    func windowAttentionMatchesNaiveSwin(shape: (shift: Int, c: Int), kernels: String) {
        let (shift, c) = shape
        let (h, w, heads, win) = (16, 24, 3, 8)
        var backend = backend
        backend.kernels = F32Kernels.named(kernels)
        let n = win * win, d = c / heads
        let x = randomMap(h, w, c, seed: 11)
        let qkv = LinearWeights(
            outFeatures: 3 * c, inFeatures: c, weight: randomFloats(3 * c * c, seed: 12),
            bias: randomFloats(3 * c, seed: 13))
        let proj = LinearWeights(
            outFeatures: c, inFeatures: c, weight: randomFloats(c * c, seed: 14), bias: randomFloats(c, seed: 15))
        let table = randomFloats((2 * win - 1) * (2 * win - 1) * heads, seed: 16)
        let index = WindowPositionBias.relativePositionIndex(window: win)
        let weights = WindowAttentionWeights(
            qkv: qkv, proj: proj, heads: heads, window: win, table: table, index: index)
        let y = backend.windowAttention(x, weights, shift: shift)
        // Naive: roll, partition, attend with bias and the shifted-window mask, merge, roll back.
        func region(_ v: Int, _ size: Int) -> Int { v < size - win ? 0 : (v < size - shift ? 1 : 2) }
        let qkvAll = backend.linear(x, qkv).data
        var attended = [Float](repeating: 0, count: h * w * c)
        for wy in 0..<(h / win) {
            for wx in 0..<(w / win) {
                let pos = (0..<n).map { t in (wy * win + t / win, wx * win + t % win) }
                let token = pos.map { (($0.0 + shift) % h) * w + ($0.1 + shift) % w }
                let label = pos.map { shift > 0 ? 3 * region($0.0, h) + region($0.1, w) : 0 }
                for head in 0..<heads {
                    for i in 0..<n {
                        var scores = [Double](repeating: 0, count: n)
                        for j in 0..<n {
                            var s = 0.0
                            for e in 0..<d {
                                s +=
                                    Double(qkvAll[token[i] * 3 * c + head * d + e]) / Double(d).squareRoot()
                                    * Double(qkvAll[token[j] * 3 * c + c + head * d + e])
                            }
                            scores[j] =
                                s + Double(table[index[i * n + j] * heads + head]) + (label[i] != label[j] ? -100 : 0)
                        }
                        let m = scores.max() ?? 0
                        let ex = scores.map { exp($0 - m) }
                        let sum = ex.reduce(0, +)
                        for e in 0..<d {
                            var o = 0.0
                            for j in 0..<n {
                                o += ex[j] / sum * Double(qkvAll[token[j] * 3 * c + 2 * c + head * d + e])
                            }
                            attended[token[i] * c + head * d + e] = Float(o)
                        }
                    }
                }
            }
        }
        let expected = backend.linear(FeatureMap(height: h, width: w, channels: c, data: attended), proj)
        // fp32 rounding relative to the output's magnitude (it grows with the channel count).
        let magnitude = expected.data.map { abs($0) }.max() ?? 1
        #expect(maxDiff(y.data, expected.data) < 2e-6 * max(magnitude, 1), "magnitude \(magnitude)")
    }

    @Test func channelAttentionMatchesNaive() {
        let (h, w, c1, c2, heads) = (5, 6, 8, 12, 4)
        let q = randomMap(h, w, c1, seed: 21), k = randomMap(h, w, c2, seed: 22), v = randomMap(h, w, c2, seed: 23)
        let t: [Float] = [1, 0.5, 2, 1.5]
        let y = backend.channelAttention(q: q, k: k, v: v, heads: heads, temperature: t)
        let (d1, d2, p) = (c1 / heads, c2 / heads, h * w)
        func norm(_ m: FeatureMap, _ ch: Int) -> Double {
            var s = 0.0
            for i in 0..<p { s += Double(m.data[i * m.channels + ch]) * Double(m.data[i * m.channels + ch]) }
            return max(s.squareRoot(), 1e-12)
        }
        var expected = [Float](repeating: 0, count: p * c1)
        for hd in 0..<heads {
            for i in 0..<d1 {
                let qi = hd * d1 + i
                var logits = (0..<d2).map { j -> Double in
                    let kj = hd * d2 + j
                    var dot = 0.0
                    for px in 0..<p { dot += Double(q.data[px * c1 + qi]) * Double(k.data[px * c2 + kj]) }
                    return dot / norm(q, qi) / norm(k, kj) * Double(t[hd])
                }
                let m = logits.max() ?? 0
                logits = logits.map { exp($0 - m) }
                let s = logits.reduce(0, +)
                for px in 0..<p {
                    var o = 0.0
                    for j in 0..<d2 { o += logits[j] / s * Double(v.data[px * c2 + hd * d2 + j]) }
                    expected[px * c1 + qi] = Float(o)
                }
            }
        }
        #expect(maxDiff(y.data, expected) < 1e-5)
    }

    /// Planes to channels-last and back, against the index formulas, for channel counts the
    /// transposes take as plain loops (up to 4) and in 16x16 blocks with partial blocks.
    @Test(arguments: [1, 2, 3, 4, 5, 17, 56])
    func layoutConversionsMatchTheIndexFormulas(channels c: Int) {
        let (h, w) = (7, 37)
        let planes = Tensor(shape: [2, c, h, w], data: randomFloats(2 * c * h * w, seed: UInt64(c)))
        let map = backend.featureMap(planes, batch: 1)
        #expect(map.height == h && map.width == w && map.channels == c)
        var expected = [Float](repeating: 0, count: c * h * w)
        for ch in 0..<c {
            for p in 0..<(h * w) { expected[p * c + ch] = planes.data[(c + ch) * h * w + p] }
        }
        #expect(map.data.array == expected)
        let stacked = backend.stack([map, map])
        #expect(stacked.shape == [2, c, h, w])
        #expect(Array(stacked.data[(c * h * w)...]) == Array(planes.data[(c * h * w)...]))
    }

    @Test func layoutConversionsRoundTrip() {
        let m = randomMap(3, 5, 4, seed: 31)
        #expect(FeatureMap(chw: m.chw(), channels: 4, height: 3, width: 5) == m)
        let t = Tensor(stacking: [m, m])
        #expect(t.shape == [2, 4, 3, 5])
        #expect(t.featureMap(batch: 1) == m)
        #expect(t.maxAbsDifference(t) == 0)
    }
}
