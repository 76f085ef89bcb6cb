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
    zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
}

/// The fused residual and activation variants against the unfused ops they replace, on
/// enough rows to span several row chunks per worker, in every GEMM precision and with the
/// AVX-512 and portable GELU.
@Suite struct FusedOpsTests {
    static var precisions: [Precision] { Precision.bf16.isSupported ? [.fp32, .bf16] : [.fp32] }

    func backends(_ precision: Precision) throws -> [CPUBackend] {
        try F32Kernels.choices.map { name in
            var b = try CPUBackend(threads: 2, precision: precision)
            b.kernels = F32Kernels.named(name)
            return b
        }
    }

    @Test(arguments: precisions)
    func linearVariantsEqualTheirComposition(precision: Precision) throws {
        for b in try backends(precision) {
            let x = randomMap(40, 60, 36, seed: 3)  // 2400 rows
            let w = LinearWeights(
                outFeatures: 300, inFeatures: 36, weight: randomMap(1, 300, 36, seed: 4).data.array,
                bias: randomMap(1, 1, 300, seed: 5).data.array)
            var unfused = b.linear(x, w)
            b.gelu(&unfused)
            #expect(maxDiff(b.linearGELU(x, w), unfused) < 1e-5)

            let residual = randomMap(40, 60, 300, seed: 6)
            var expected = residual
            b.add(&expected, b.linear(x, w))
            var y = residual
            b.linear(x, w, addingTo: &y)
            #expect(maxDiff(y, expected) < 1e-5)
            #expect(maxDiff(residual, randomMap(40, 60, 300, seed: 6)) == 0)  // copy on write
        }
    }

    @Test(arguments: precisions)
    func convAddingToEqualsConvThenAdd(precision: Precision) throws {
        let b = try CPUBackend(threads: 2, precision: precision)
        let x = randomMap(30, 34, 12, seed: 7)
        for (groups, cout, bias) in [(1, 20, true), (1, 20, false), (12, 12, true)] {
            let w = ConvWeights(
                outChannels: cout, inChannels: 12, kernel: 3, groups: groups,
                weight: randomMap(1, 1, cout * (12 / groups) * 9, seed: 8).data.array,
                bias: bias ? randomMap(1, 1, cout, seed: 9).data.array : nil)
            let residual = randomMap(30, 34, cout, seed: 10)
            var expected = residual
            b.add(&expected, b.conv2d(x, w))
            var y = residual
            b.conv2d(x, w, addingTo: &y)
            #expect(maxDiff(y, expected) < 1e-5, "groups \(groups), bias \(bias)")
        }
    }

    /// The fp32 GEMM of CKernels (each build) against OpenBLAS (the portable path), on sizes
    /// that leave partial tiles: rows not a multiple of the tiles' (2, 6 or 8), columns not a
    /// multiple of 16, last panels of 16, 32 and 48 columns.
    @Test(
        .enabled(if: F32Kernels.native != nil, "the kernels are compared with OpenBLAS; this CPU has no AVX2"),
        arguments: [(37, 13, 7), (203, 180, 53), (2400, 36, 300), (5, 1, 1), (61, 24, 72), (100, 32, 64)],
        F32Kernels.available.map(\.instructionSet.rawValue))
    func fp32KernelAgreesWithOpenBLAS(shape: (rows: Int, k: Int, n: Int), kernels: String) throws {
        let (rows, k, n) = shape
        var fast = CPUBackend(threads: 2)
        fast.kernels = F32Kernels.named(kernels)
        var blas = fast
        blas.kernels = nil
        let x = randomMap(1, rows, k, seed: 21)
        let w = LinearWeights(
            outFeatures: n, inFeatures: k, weight: randomMap(1, n, k, seed: 22).data.array,
            bias: randomMap(1, 1, n, seed: 23).data.array)
        // Summation orders differ: compare relative to the outputs' magnitude.
        func close(_ a: FeatureMap, _ b: FeatureMap) -> Bool {
            maxDiff(a, b) <= 4e-6 * max(1, b.data.map(abs).max() ?? 0)
        }
        #expect(close(fast.linear(x, w), blas.linear(x, w)))
        let image = randomMap(9, 11, k, seed: 24)
        let conv = ConvWeights(
            outChannels: n, inChannels: k, kernel: 3, stride: 2,
            weight: randomMap(1, 1, n * k * 9, seed: 25).data.array, bias: nil)
        #expect(close(fast.conv2d(image, conv), blas.conv2d(image, conv)))
    }
}

@Suite struct CopyOpsTests {
    @Test(arguments: [(1, 1, 3, 5), (37, 29, 24, 48), (64, 80, 56, 24)])
    func concatAndCropMatchTheirDefinitions(h: Int, w: Int, ca: Int, cb: Int) {
        let b = CPUBackend(threads: 2)
        let x = randomMap(h, w, ca, seed: 31)
        let y = randomMap(h, w, cb, seed: 32)
        let out = b.concatChannels(x, y)
        #expect(out.height == h && out.width == w && out.channels == ca + cb)
        let (o, xa, ya) = (out.data.array, x.data.array, y.data.array)
        var same = true
        for p in 0..<(h * w) {
            for i in 0..<ca where o[p * (ca + cb) + i] != xa[p * ca + i] { same = false }
            for i in 0..<cb where o[p * (ca + cb) + ca + i] != ya[p * cb + i] { same = false }
        }
        #expect(same)
        let cropped = b.crop(out, height: max(h - 3, 1), width: max(w - 2, 1))
        let ca2 = ca + cb
        let co = cropped.data.array
        var cropSame = true
        for yy in 0..<cropped.height {
            for xx in 0..<cropped.width {
                for c in 0..<ca2 where co[(yy * cropped.width + xx) * ca2 + c] != o[(yy * w + xx) * ca2 + c] {
                    cropSame = false
                }
            }
        }
        #expect(cropSame)
    }
}
