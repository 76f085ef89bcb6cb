import Testing

@testable import Tensor

private func randomMap(_ h: Int, _ w: Int, _ c: Int, seed: UInt64) -> FeatureMap {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    let values = (0..<(h * w * c)).map { _ -> Float in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state % 2001) / 1000 - 1
    }
    return FeatureMap(height: h, width: w, channels: c, data: values)
}

private func maxDiff(_ a: FeatureMap, _ b: FeatureMap) -> Float {
    precondition(a.data.count == b.data.count)
    return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
}

/// The direct kernels of the compact-config work, in each build this CPU runs (AVX-512,
/// AVX2), against the portable Swift loops they replace (which OpsTests checks against
/// double-precision sums).
@Suite(.enabled(if: F32Kernels.native != nil, "this CPU has no AVX2")) struct DirectKernelTests {
    var portable: CPUBackend {
        var b = CPUBackend(threads: 2)
        b.kernels = nil
        return b
    }

    /// A 2-thread backend per kernel build.
    var fastBackends: [CPUBackend] {
        F32Kernels.available.map { kernels in
            var b = CPUBackend(threads: 2)
            b.kernels = kernels
            return b
        }
    }

    @Test(arguments: [
        (24, 3, 1, 1, true), (48, 3, 1, 1, false), (16, 3, 2, 1, true), (37, 5, 1, 2, true), (8, 3, 1, 0, true),
        (96, 3, 1, 1, true), (3, 3, 1, 1, true), (5, 3, 2, 1, false),
    ])
    func depthwiseConvMatchesPortableLoop(channels c: Int, kernel: Int, stride: Int, padding: Int, bias: Bool) {
        let x = randomMap(13, 21, c, seed: UInt64(c))
        let w = ConvWeights(
            outChannels: c, inChannels: c, kernel: kernel, stride: stride, padding: padding, groups: c,
            weight: randomMap(1, 1, c * kernel * kernel, seed: 2).data.array,
            bias: bias ? randomMap(1, 1, c, seed: 3).data.array : nil)
        let slow = portable.conv2d(x, w)
        for b in fastBackends {
            let fast = b.conv2d(x, w)
            #expect(fast.height == slow.height && fast.width == slow.width && fast.channels == c)
            #expect(maxDiff(fast, slow) < 1e-5, "\(b.kernels?.instructionSet.rawValue ?? "")")
        }
    }

    @Test(arguments: [(1, 1, 1), (1, 5, 7), (3, 7, 9), (17, 5, 13), (56, 4, 33), (16, 16, 2)])
    func layoutConversionsMatchTheirDefinition(channels c: Int, height h: Int, width w: Int) {
        let m = randomMap(h, w, c, seed: UInt64(c * h * w))
        let chw = m.chw()
        var ok = true
        for ch in 0..<c {
            for y in 0..<h { for x in 0..<w where chw[(ch * h + y) * w + x] != m[y, x, ch] { ok = false } }
        }
        #expect(ok)
        let back = FeatureMap(chw: chw, channels: c, height: h, width: w)
        #expect(back == m)
    }

    /// The backend's layout conversions (pixels shared among workers, in pieces) give the
    /// tensor's own, for every thread count, with several pieces per worker and one.
    @Test(arguments: [(1, 300, 70), (3, 256, 320), (56, 128, 160), (7, 3, 5)])
    func backendLayoutConversionsMatchTheTensors(channels c: Int, height h: Int, width w: Int) {
        let maps = (0..<2).map { randomMap(h, w, c, seed: UInt64(c * 10 + $0)) }
        let tensor = Tensor(stacking: maps)
        for threads in [1, 2, 3] {
            let b = CPUBackend(threads: threads)
            let stacked = b.stack(maps)
            #expect(stacked == tensor, "\(threads) threads, \(c)x\(h)x\(w)")
            for n in 0..<2 { #expect(b.featureMap(tensor, batch: n) == maps[n], "\(threads) threads, image \(n)") }
        }
    }

    @Test func sigmoidPoolAndOneChannelConvMatchPortableCode() {
        for fast in fastBackends { sigmoidPoolAndOneChannelConvMatchPortableCode(fast) }
    }

    func sigmoidPoolAndOneChannelConvMatchPortableCode(_ fast: CPUBackend) {
        var x = randomMap(70, 300, 1, seed: 31)  // 21,000 values: several chunks per worker
        x.data.withUnsafeMutableBufferPointer {
            $0[0] = -200; $0[1] = 200; $0[2] = 0
        }
        var (a, b) = (x, x)
        fast.sigmoid(&a)
        portable.sigmoid(&b)
        #expect(maxDiff(a, b) < 1e-6)
        #expect(a.data[0] < 1e-30 && a.data[1] == 1 && a.data[2] == 0.5)

        let m = randomMap(90, 101, 33, seed: 32)
        let pooled = fast.globalAveragePool(m)
        for c in [0, 17, 32] {
            var sum = 0.0
            for p in 0..<m.pixelCount { sum += Double(m.data[p * 33 + c]) }
            #expect(abs(Double(pooled[c]) - sum / Double(m.pixelCount)) < 1e-6)
        }

        for cin in [33, 16, 5] {
            let input = randomMap(40, 130, cin, seed: UInt64(cin))
            let w = ConvWeights(
                outChannels: 1, inChannels: cin, kernel: 1, weight: randomMap(1, 1, cin, seed: 33).data.array,
                bias: [0.25])
            #expect(maxDiff(fast.conv2d(input, w), portable.conv2d(input, w)) < 1e-5)
        }
    }

    @Test(arguments: [
        (1, 24, 3, 2, 1), (2, 32, 3, 1, 1), (3, 48, 3, 2, 1), (24, 24, 3, 1, 1), (48, 48, 3, 1, 1), (56, 24, 3, 2, 1),
        (24, 16, 3, 1, 1), (5, 50, 5, 1, 2), (7, 9, 3, 2, 2), (48, 97, 1, 1, 1), (4, 4, 5, 3, 4),
    ])
    func denseConvReadingPatchesInPlaceMatchesIm2col(cin: Int, cout: Int, kernel: Int, stride: Int, padding: Int)
        throws
    {
        for fast in fastBackends {
            try checkDirectConv(fast: fast, portable: portable, cin, cout, kernel, stride, padding)
        }
        if Precision.bf16.isSupported {
            // bf16: the direct kernel takes even channel counts, the im2col GEMM the others;
            // the portable backend runs the im2col GEMM on the same bf16 products.
            var im2col = try CPUBackend(threads: 2, precision: .bf16)
            im2col.kernels = nil
            try checkDirectConv(
                fast: CPUBackend(threads: 2, precision: .bf16), portable: im2col, cin, cout, kernel, stride, padding)
        }
    }

    func checkDirectConv(
        fast: CPUBackend, portable: CPUBackend, _ cin: Int, _ cout: Int, _ kernel: Int, _ stride: Int, _ padding: Int
    ) throws {
        // fp32 rounding of a K-term sum grows like sqrt(K); the two sides block their sums
        // differently (the reference's BLAS picks its kernel by CPU and matrix size).
        let tolerance = max(Float(2e-5), 5e-6 * Float(cin * kernel * kernel).squareRoot())
        for (h, wd) in [(11, 21), (6, 9), (17, 8)] {
            let x = randomMap(h, wd, cin, seed: UInt64(cin * 100 + h))
            for bias in [true, false] {
                let w = ConvWeights(
                    outChannels: cout, inChannels: cin, kernel: kernel, stride: stride, padding: padding,
                    weight: randomMap(1, 1, cout * cin * kernel * kernel, seed: 5).data.array,
                    bias: bias ? randomMap(1, 1, cout, seed: 6).data.array : nil)
                let y = fast.conv2d(x, w)
                let expected = portable.conv2d(x, w)
                #expect(y.height == expected.height && y.width == expected.width)
                #expect(
                    maxDiff(y, expected) < tolerance, "\(cin)->\(cout) k\(kernel) s\(stride) p\(padding) \(h)x\(wd)")
                var accumulated = randomMap(y.height, y.width, cout, seed: 9)
                var expectedSum = accumulated
                portable.add(&expectedSum, expected)
                fast.conv2d(x, w, addingTo: &accumulated)
                #expect(maxDiff(accumulated, expectedSum) < tolerance)
            }
        }
    }

    /// Winograd's F(2x2, 3x3) in each build against the direct kernel and the portable loops:
    /// odd and even sizes (edge tiles of one row or column), channel counts with and without
    /// a partial vector, with the bias and accumulating into a residual.
    @Test(arguments: [
        (9, 13, 24, 48), (10, 7, 48, 24), (1, 1, 16, 16), (2, 3, 3, 5), (33, 70, 32, 32), (6, 66, 17, 40),
    ])
    func winogradMatchesTheDirectConvolution(shape: (h: Int, w: Int, cin: Int, cout: Int)) {
        let (h, wd, cin, cout) = shape
        let x = randomMap(h, wd, cin, seed: UInt64(h * wd + cin))
        let w = ConvWeights(
            outChannels: cout, inChannels: cin, kernel: 3, padding: 1,
            weight: randomMap(1, 1, cout * cin * 9, seed: 31).data.array,
            bias: randomMap(1, 1, cout, seed: 32).data.array)
        let residual = randomMap(h, wd, cout, seed: 33)
        let expected = portable.conv2d(x, w)
        var expectedSum = residual
        portable.conv2d(x, w, addingTo: &expectedSum)
        for var b in fastBackends {
            let label = "\(shape) \(b.kernelInstructionSet)"
            b.winograd = .off
            let direct = b.conv2d(x, w)
            b.winograd = .always
            let y = b.conv2d(x, w)
            var sum = residual
            b.conv2d(x, w, addingTo: &sum)
            #expect(y.height == h && y.width == wd && y.channels == cout)
            #expect(maxDiff(y, expected) < 1e-4, "\(label)")
            #expect(maxDiff(sum, expectedSum) < 1e-4, "\(label)")
            #expect(maxDiff(y, direct) < 1e-4, "\(label)")
            #expect(maxDiff(sum, residual) > 1e-2, "\(label)")
        }
    }
}

/// The fused transformer half-blocks against the ops they compose, in every GEMM precision,
/// with the AVX-512 kernels and with the portable fallback.
@Suite struct FusedBlockTests {
    static var precisions: [Precision] { Precision.bf16.isSupported ? [.fp32, .bf16] : [.fp32] }

    func backends(_ precision: Precision) throws -> [CPUBackend] {
        try F32Kernels.choices.map { name in
            var b = try CPUBackend(threads: 2, precision: precision)
            b.kernels = F32Kernels.named(name)
            return b
        }
    }

    func norm(_ c: Int, seed: UInt64) -> NormWeights {
        NormWeights(
            weight: randomMap(1, 1, c, seed: seed).data.array.map { 1 + 0.5 * $0 },
            bias: randomMap(1, 1, c, seed: seed + 1).data.array)
    }

    func linear(_ out: Int, _ inp: Int, seed: UInt64) -> LinearWeights {
        LinearWeights(
            outFeatures: out, inFeatures: inp, weight: randomMap(1, out, inp, seed: seed).data.array.map { 0.3 * $0 },
            bias: randomMap(1, 1, out, seed: seed + 1).data.array)
    }

    /// In-place ops on a map that shares its storage with another value change only their
    /// own (the backend copies it first, with its workers).
    @Test func inPlaceOpsOnASharedMapLeaveTheOtherValueAlone() {
        let b = CPUBackend(threads: 2)
        let original = randomMap(300, 260, 24, seed: 41)  // 1.9 M values: several copy pieces
        var changed = original
        let kept = changed
        b.add(&changed, original)
        #expect(kept == original)
        #expect(changed.data.array == original.data.array.map { $0 + $0 })
        var conv = original
        let w = ConvWeights(
            outChannels: 24, inChannels: 24, kernel: 3, padding: 1,
            weight: randomMap(1, 1, 24 * 24 * 9, seed: 42).data.array,
            bias: nil)
        b.conv2d(original, w, addingTo: &conv)
        #expect(kept == original)
        var separate = b.conv2d(original, w)
        b.add(&separate, original)
        #expect(maxDiff(conv, separate) < 1e-4)
    }

    /// The reduced convolutions (the map never built) give what the composed ops give; the
    /// means do not depend on the number of workers.
    @Test(arguments: precisions)
    func bandedConvolutionsEqualTheComposedOps(precision: Precision) throws {
        for b in try backends(precision) {
            for (h, wd, cin, cout, stride) in [(37, 300, 2, 32, 1), (9, 11, 4, 16, 2), (130, 64, 2, 32, 1)] {
                let x = randomMap(h, wd, cin, seed: UInt64(h + cin))
                let first = ConvWeights(
                    outChannels: cout, inChannels: cin, kernel: 3, stride: stride, padding: 1,
                    weight: randomMap(1, 1, cout * cin * 9, seed: 21).data.array,
                    bias: randomMap(1, 1, cout, seed: 22).data.array)
                let second = ConvWeights(
                    outChannels: 1, inChannels: cout, kernel: 1, weight: randomMap(1, 1, cout, seed: 23).data.array,
                    bias: [0.25])
                let label =
                    "\(h)x\(wd)x\(cin) -> \(cout) /\(stride) \(precision) kernels \(b.kernels?.instructionSet.rawValue ?? "portable")"
                let map = b.conv2d(x, first)
                let means = b.convolvedChannelMeans(x, first)
                let pooled = b.globalAveragePool(map)
                #expect(means.count == cout)
                #expect(zip(means, pooled).allSatisfy { abs($0 - $1) < 1e-5 }, "\(label)")
                if b.kernels != nil {  // the banded path (the composed one pools per worker)
                    var other = try CPUBackend(threads: 3, precision: precision)
                    other.kernels = b.kernels
                    #expect(other.convolvedChannelMeans(x, first) == means)
                }
                let composed = b.conv2d(map, second)
                let banded = b.convolve(x, first, then: second)
                #expect(banded.height == composed.height && banded.width == composed.width && banded.channels == 1)
                // fp32 folds `second` into `first` (the same sums in another order); bf16
                // reduces the map band by band.
                #expect(maxDiff(banded, composed) <= (precision == .fp32 ? 1e-4 : 0), "\(label)")
            }
        }
    }

    @Test(arguments: precisions)
    func residualMLPEqualsComposition(precision: Precision) throws {
        for b in try backends(precision) {
            for (c, hidden) in [(48, 96), (24, 96), (20, 40)] {
                let x = randomMap(37, 29, c, seed: UInt64(c))  // 1073 rows: several blocks per worker
                let (n, fc1, fc2) = (norm(c, seed: 3), linear(hidden, c, seed: 5), linear(c, hidden, seed: 7))
                var expected = x
                b.linear(b.linearGELU(b.layerNorm(x, n), fc1), fc2, addingTo: &expected)
                var y = x
                b.residualMLP(&y, norm: n, fc1: fc1, fc2: fc2)
                #expect(
                    maxDiff(y, expected) < 1e-5,
                    "c \(c) \(precision) kernels \(b.kernels?.instructionSet.rawValue ?? "portable")")
                #expect(maxDiff(y, x) > 1e-2)
            }
        }
    }

    @Test(arguments: precisions)
    func residualWindowAttentionEqualsComposition(precision: Precision) throws {
        for b in try backends(precision) {
            for (c, heads, shift) in [(48, 3, 0), (48, 3, 4), (24, 3, 4), (32, 1, 0), (96, 3, 4), (40, 5, 4)] {
                let x = randomMap(16, 24, c, seed: UInt64(c + heads))
                let n = norm(c, seed: 11)
                let window = 8
                let table = randomMap(1, (2 * window - 1) * (2 * window - 1), heads, seed: 13).data.array
                let w = WindowAttentionWeights(
                    qkv: linear(3 * c, c, seed: 15), proj: linear(c, c, seed: 17), heads: heads, window: window,
                    table: table, index: WindowPositionBias.relativePositionIndex(window: window))
                var expected = x
                let attended = b.windowAttention(qkv: b.linear(b.layerNorm(x, n), w.qkv), w.position, shift: shift)
                b.linear(attended, w.proj, addingTo: &expected)
                var y = x
                b.residualWindowAttention(&y, norm: n, w, shift: shift)
                if precision == .fp32 {
                    // The small-head kernel rounds differently (queries scaled first, as the
                    // reference does).
                    #expect(
                        maxDiff(y, expected) < 1e-5,
                        "c \(c) heads \(heads) shift \(shift) kernels \(b.kernels?.instructionSet.rawValue ?? "portable")"
                    )
                } else {
                    // In bf16 the fused kernels also round the attention's operands (heads of
                    // up to 16 channels, 32 on AMX tiles), the composition only the linears':
                    // the fused result stays within twice the composition's distance from the
                    // fp32 result, three times for the 32-term dot products of 32-channel heads.
                    let fp32 = CPUBackend(threads: 2)
                    var exact = x
                    fp32.linear(
                        fp32.windowAttention(qkv: fp32.linear(fp32.layerNorm(x, n), w.qkv), w.position, shift: shift),
                        w.proj, addingTo: &exact)
                    let label =
                        "c \(c) heads \(heads) shift \(shift) kernels \(b.kernels?.instructionSet.rawValue ?? "portable")"
                    let composed = maxDiff(expected, exact)
                    #expect(composed < 0.1, "\(label)")
                    let factor: Float = c / heads > 16 ? 3 : 2
                    #expect(maxDiff(y, exact) <= max(factor * composed, 1e-2), "\(label)")
                }
                #expect(maxDiff(y, x) > 1e-2)
            }
        }
    }

    @Test(arguments: precisions)
    func residualSwinBlockEqualsItsTwoHalves(precision: Precision) throws {
        for b in try backends(precision) {
            for (c, heads, shift) in [(48, 3, 0), (24, 3, 4), (40, 5, 4), (96, 3, 4)] {
                let x = randomMap(16, 24, c, seed: UInt64(c * 7 + heads))
                let window = 8
                let w = WindowAttentionWeights(
                    qkv: linear(3 * c, c, seed: 25), proj: linear(c, c, seed: 27), heads: heads, window: window,
                    table: randomMap(1, (2 * window - 1) * (2 * window - 1), heads, seed: 29).data.array,
                    index: WindowPositionBias.relativePositionIndex(window: window))
                let (n1, n2) = (norm(c, seed: 31), norm(c, seed: 33))
                let (fc1, fc2) = (linear(2 * c, c, seed: 35), linear(c, 2 * c, seed: 37))
                var expected = x
                b.residualWindowAttention(&expected, norm: n1, w, shift: shift)
                b.residualMLP(&expected, norm: n2, fc1: fc1, fc2: fc2)
                // The window loop with the MLP directly (the public op picks it for bf16 and
                // small weights only), and the public op.
                var y = x
                b.windowBlock(&y, norm: n1, w, shift: shift, mlp: (n2, fc1, fc2))
                #expect(
                    maxDiff(y, expected) < 1e-6,
                    "c \(c) heads \(heads) shift \(shift) kernels \(b.kernels?.instructionSet.rawValue ?? "portable")")
                #expect(maxDiff(y, x) > 1e-2)
                var z = x
                b.residualSwinBlock(&z, norm1: n1, w, shift: shift, norm2: n2, fc1: fc1, fc2: fc2)
                #expect(maxDiff(z, expected) < 1e-6)
            }
        }
    }

    @Test(
        .enabled(if: F32Kernels.native != nil, "this CPU has no AVX2"), arguments: [1, 7, 16, 24, 48, 96, 128, 130],
        F32Kernels.available.map(\.instructionSet.rawValue))
    func layerNormKernelMatchesPortableLoop(channels c: Int, kernels: String) {
        var portable = CPUBackend(threads: 2)
        portable.kernels = nil
        var fast = portable
        fast.kernels = F32Kernels.named(kernels)
        let x = randomMap(9, 31, c, seed: UInt64(c) + 40)
        let n = norm(c, seed: 21)
        #expect(maxDiff(fast.layerNorm(x, n), portable.layerNorm(x, n)) < 2e-6)
    }
}
