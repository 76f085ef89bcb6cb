import CKernels
import Foundation
import Testing

@testable import Tensor

// The AMX tile kernels against the `vdpbf16ps` kernels they stand in for on CPUs with AMX:
// the same bf16 operands and packing, fp32 sums in another order, so they agree to fp32
// summation error. Both are checked against double-precision sums of the rounded operands.

private func rounded(_ x: [Float]) -> [Float] { x.map { ck_bf16_round($0) } }

private func packed(_ b: [Float], k: Int, n: Int) -> [UInt16] {
    var out = [UInt16](repeating: 0xFFFF, count: ck_bf16_packed_count(Int32(k), Int32(n)))
    b.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { ck_bf16_pack_b(bp.baseAddress!, Int32(k), Int32(n), 0, $0.baseAddress!) }
    }
    return out
}

@Suite(.enabled(if: ck_has_amx_bf16() != 0, "this CPU or kernel has no AMX-BF16 tiles"))
struct AMXKernelTests {
    // Rows below, at and past one 16-row tile and one 64-row block; inner sizes below, at and
    // past 32 (the tile's depth); column counts leaving 16-, 32- and 48-wide last panels.
    @Test(arguments: [
        (16, 48, 144, true, false), (64, 48, 48, true, true), (37, 45, 53, false, false),
        (70, 181, 180, true, true), (200, 360, 20, true, false), (19, 1620, 180, false, true),
        (16, 1, 1, true, false), (33, 24, 72, true, true), (130, 96, 48, true, true),
    ])
    func gemmMatchesTheVectorKernel(m: Int, k: Int, n: Int, bias useBias: Bool, accumulate: Bool) {
        let a = values(m * k, seed: 1), b = values(k * n, seed: 2)
        // Biases with low bits the bf16 split must carry: hi + mid + lo is the fp32 value.
        let bias = values(n, seed: 3).map { $0 * 3.1 + 1e-3 }
        let start = values(m * n, seed: 4)
        let pb = packed(b, k: k, n: n)
        func run(
            _ kernel: (
                Int32, Int32, Int32, UnsafePointer<Float>, Int32, UnsafePointer<UInt16>, UnsafeMutablePointer<Float>,
                Int32, UnsafePointer<Float>?, Int32
            ) -> Void
        ) -> [Float] {
            var c = start
            a.withUnsafeBufferPointer { ap in
                pb.withUnsafeBufferPointer { bp in
                    bias.withUnsafeBufferPointer { biasp in
                        c.withUnsafeMutableBufferPointer { cp in
                            kernel(
                                Int32(m), Int32(n), Int32(k), ap.baseAddress!, Int32(k), bp.baseAddress!,
                                cp.baseAddress!,
                                Int32(n), useBias ? biasp.baseAddress! : nil, accumulate ? 1 : 0)
                        }
                    }
                }
            }
            return c
        }
        let tiles = run(ck_gemm_bf16_amx), vector = run(ck_gemm_bf16_avx512)
        let (ra, rb) = (rounded(a), rounded(b))
        var worstTiles = 0.0, worstVector = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = (useBias ? Double(bias[j]) : 0) + (accumulate ? Double(start[i * n + j]) : 0)
                var magnitude = abs(exact)
                for t in 0..<k {
                    let p = Double(ra[i * k + t]) * Double(rb[t * n + j])
                    exact += p
                    magnitude += abs(p)
                }
                worstTiles = max(worstTiles, abs(Double(tiles[i * n + j]) - exact) / (magnitude + 1))
                worstVector = max(worstVector, abs(Double(vector[i * n + j]) - exact) / (magnitude + 1))
            }
        }
        #expect(worstTiles < 1e-6, "AMX vs double sums of the bf16 operands: \(worstTiles)")
        #expect(worstVector < 1e-6, "vdpbf16ps vs double sums of the bf16 operands: \(worstVector)")
    }

    @Test(arguments: [
        (48, 48, 3, 1, 1, true, false), (24, 24, 3, 1, 1, true, true), (2, 32, 3, 1, 1, true, false),
        (56, 24, 3, 2, 1, true, false), (48, 48, 1, 1, 0, false, true), (32, 17, 3, 1, 0, true, false),
        (16, 50, 5, 2, 2, false, false),
    ])
    func convMatchesTheVectorKernel(
        cin: Int, cout: Int, kernel: Int, stride: Int, padding: Int, bias useBias: Bool, accumulate: Bool
    ) {
        // A width of 70 output pixels: one 64-pixel block and a partial one, edges on both.
        let (h, w) = (9, 70 * stride)
        let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
        let x = values(h * w * cin, seed: 5).map { ck_bf16_round($0) }
        var xb = [UInt16](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            xb.withUnsafeMutableBufferPointer { ck_f32_to_bf16(xp.baseAddress!, $0.baseAddress!, x.count) }
        }
        let patch = kernel * kernel * cin
        let pw = packed(values(patch * cout, seed: 6), k: patch, n: cout)
        let bias = values(cout, seed: 7), start = values(oh * ow * cout, seed: 8)
        // Rows 1 ..< oh - 1: a band that starts and ends inside the image.
        let (first, count) = (1, oh - 2)
        func run(_ amx: Bool) -> [Float] {
            var out = start
            let ok = xb.withUnsafeBufferPointer { xp in
                pw.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in
                        out.withUnsafeMutableBufferPointer { op in
                            let args = (
                                Int32(h), Int32(w), Int32(cin), Int32(kernel), Int32(stride), Int32(padding)
                            )
                            return amx
                                ? ck_conv_bf16_amx(
                                    xp.baseAddress!, args.0, args.1, args.2, args.3, args.4, args.5, wp.baseAddress!,
                                    Int32(cout), op.baseAddress!, Int32(ow), useBias ? bp.baseAddress! : nil,
                                    accumulate ? 1 : 0, Int32(first), Int32(count), 0)
                                : ck_conv_bf16_avx512_into(
                                    xp.baseAddress!, args.0, args.1, args.2, args.3, args.4, args.5, wp.baseAddress!,
                                    Int32(cout), op.baseAddress!, Int32(ow), useBias ? bp.baseAddress! : nil,
                                    accumulate ? 1 : 0, Int32(first), Int32(count), 0)
                        }
                    }
                }
            }
            #expect(ok == 1)
            return out
        }
        let tiles = run(true), vector = run(false)
        let worst = zip(tiles, vector).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 2e-4, "AMX vs vdpbf16ps convolution: max abs difference \(worst)")
        // Rows outside the band are left as they were.
        #expect(tiles[0..<(ow * cout)] == start[0..<(ow * cout)])
        let changed = zip(tiles[(ow * cout)...], start[(ow * cout)...]).filter { $0 != $1 }.count
        #expect(changed > (count * ow * cout) / 2)
    }

    // Head sizes 8 and 16 (the vector kernels' widths), odd ones, and past 16 up to 32, which
    // only the tiles take; several heads so that a head's stores spill into the next one's.
    @Test(arguments: [(48, 6), (13, 1), (48, 3), (34, 2), (48, 2), (31, 1), (32, 1), (64, 2)])
    func windowAttentionMatchesDoubleSumsOfTheBF16Operands(c: Int, heads: Int) {
        let d = c / heads, n = 64
        let rows = values(n * 3 * c, seed: 9).map { $0 * 2 }
        // A bias and a shifted window's mask: some keys hidden from some queries.
        var biasT = values(heads * n * n, seed: 10)
        for i in stride(from: 0, to: biasT.count, by: 7) { biasT[i] = -100 }
        let scale = Float(1 / Double(d).squareRoot())
        var out = [Float](repeating: .nan, count: n * c)
        let ok = rows.withUnsafeBufferPointer { rp in
            biasT.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer {
                    ck_window_attention_block_bf16(
                        rp.baseAddress!, $0.baseAddress!, Int32(c), Int32(heads), bp.baseAddress!, scale)
                }
            }
        }
        #expect(ok == 1)
        var worst = 0.0
        for head in 0..<heads {
            let column = head * d
            for i in 0..<n {
                var scores = [Double](repeating: 0, count: n)
                for j in 0..<n {
                    var s = Double(biasT[(head * n + j) * n + i])
                    for e in 0..<d {
                        let q = ck_bf16_round(rows[i * 3 * c + column + e] * scale)
                        s += Double(q) * Double(ck_bf16_round(rows[j * 3 * c + c + column + e]))
                    }
                    scores[j] = s
                }
                let top = scores.max()!
                let p = scores.map { exp($0 - top) }
                let sum = p.reduce(0, +)
                for e in 0..<d {
                    var o = 0.0
                    for j in 0..<n {
                        o +=
                            Double(ck_bf16_round(Float(p[j])))
                            * Double(ck_bf16_round(rows[j * 3 * c + 2 * c + column + e]))
                    }
                    worst = max(worst, abs(Double(out[i * c + column + e]) - o / sum))
                }
            }
        }
        // Values up to 2; measured 4e-7 to 2.4e-4: the probabilities' bf16 rounding and the
        // fast exponential.
        #expect(worst < 2e-3, "tile attention vs double sums, d = \(d): max abs difference \(worst)")
    }

    @Test func theBF16PathsUseTilesHereUnlessTurnedOff() {
        #expect(ck_amx_active() == 1 || ProcessInfo.processInfo.environment["SPKDEBLUR_AMX"] == "0")
    }
}
