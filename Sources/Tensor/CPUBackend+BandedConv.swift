internal import CKernels
import Foundation

// Convolutions whose output is only needed reduced (its channel means, or a 1x1 convolution
// of it to one channel): at full resolution such a map is large (32 channels at 500x800 are
// 51 MB), and writing it out and reading it back cost more than computing it.
//
// In fp32 neither needs the map at all. Both reductions are linear in it, so they move in
// front of the convolution: the means are the weights times the sums of the input over the
// pixels each tap reads, and a 1x1 convolution to one channel after a convolution is one
// convolution with the weights folded (cin x k x k values). The same sums in another order
// (fp32 rounding apart); compact48 at 500x800 spent 18 ms on the two 2 -> 32 convolutions at
// full resolution. bf16 computes the map in bands of output rows that stay in L2 and
// reduces each band at once, its products taken on bf16-rounded operands like `conv2d`'s.

extension CPUBackend {
    /// Output rows per band: about 256 KiB of fp32 output.
    static func bandRows(width: Int, channels: Int) -> Int { max(1, (1 << 16) / max(1, width * channels)) }

    /// Calls `reduce` with every band of output rows of `conv2d(x, w)` in bf16 (the rows, and
    /// their values, `[rows, width, channels]`), the bands shared among the workers. Returns
    /// false, without calling it, where the bf16 implicit-im2col kernel does not take the shape.
    func forEachConvolvedBand(
        _ x: FeatureMap, _ w: ConvWeights, _ reduce: (Range<Int>, UnsafePointer<Float>) -> Void
    ) -> Bool {
        let (k, s, p, cin, cout) = (w.kernel, w.stride, w.padding, w.inChannels, w.outChannels)
        guard precision == .bf16, avx512Kernels, w.groups == 1, k <= 8, cin % 2 == 0 else { return false }
        let (ho, wo) = w.outputSize(height: x.height, width: x.width)
        let band = Self.bandRows(width: wo, channels: cout)
        let bands = (ho + band - 1) / band
        let (inH, inW) = (x.height, x.width)
        let failed = UncheckedSendableBox(UnsafeMutablePointer<Int32>.allocate(capacity: 1))
        failed.value.initialize(to: 0)
        defer { failed.value.deallocate() }
        // The kernel reads the image converted to bf16 once, as `conv2d` does.
        let converted = UnsafeMutablePointer<UInt16>.allocate(capacity: x.data.count)
        defer { converted.deallocate() }
        x.data.withUnsafeBufferPointer { xp in
            let (src, dst) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(converted))
            parallel(xp.count, minimumChunk: 1 << 15) { range in
                ck_f32_to_bf16(src.value + range.lowerBound, dst.value + range.lowerBound, range.count)
            }
        }
        withoutActuallyEscaping(reduce) { reduce in
            let reduceBox = UncheckedSendableBox(reduce)
            func run(packed: UnsafePointer<UInt16>, bias: UnsafePointer<Float>?) {
                let args = UncheckedSendableBox((UnsafePointer(converted), packed, bias))
                parallel(bands) { range in
                    let (source, packed, bias) = args.value
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: band * wo * cout)
                    defer { scratch.deallocate() }
                    for b in range {
                        let rows = (b * band)..<min(ho, (b + 1) * band)
                        let (first, count) = (Int32(rows.lowerBound), Int32(rows.count))
                        let ok = ck_conv_bf16_into(
                            source, Int32(inH), Int32(inW), Int32(cin), Int32(k), Int32(s), Int32(p), packed,
                            Int32(cout), scratch, Int32(wo), bias, 0, first, count, first)
                        if ok == 0 {
                            failed.value.pointee = 1
                            return
                        }
                        reduceBox.value(rows, scratch)
                    }
                }
            }
            w.bf16GEMMWeight.withUnsafeBufferPointer { bp in
                if let bias = w.bias {
                    bias.withUnsafeBufferPointer { run(packed: bp.baseAddress!, bias: $0.baseAddress!) }
                } else {
                    run(packed: bp.baseAddress!, bias: nil)
                }
            }
        }
        precondition(failed.value.pointee == 0, "conv2d: the direct kernel failed (out of memory)")
        return true
    }

    /// The channel means of `conv2d(x, w)`: in fp32 from the input's tap sums
    /// (`meansFromTapSums`); in bf16 band by band, each band's sums (fp32 partial sums of 256
    /// pixels, accumulated in double) kept apart and added in band order, so the result does
    /// not depend on the number of workers.
    public func convolvedChannelMeans(_ x: FeatureMap, _ w: ConvWeights) -> [Float] {
        if precision == .fp32, w.groups == 1 { return meansFromTapSums(x, w) }
        let cout = w.outChannels
        let (ho, wo) = w.outputSize(height: x.height, width: x.width)
        let band = Self.bandRows(width: wo, channels: cout)
        let bands = (ho + band - 1) / band
        var partial = [Double](repeating: 0, count: bands * cout)
        let done = partial.withUnsafeMutableBufferPointer { pp in
            let sums = UncheckedSendableBox(pp.baseAddress!)
            return forEachConvolvedBand(x, w) { rows, values in
                ck_channel_sums(values, rows.count * wo, Int32(cout), sums.value + (rows.lowerBound / band) * cout)
            }
        }
        guard done else { return globalAveragePool(conv2d(x, w)) }
        let pixels = Double(max(ho * wo, 1))
        return (0..<cout).map { c in Float((0..<bands).reduce(0) { $0 + partial[$1 * cout + c] } / pixels) }
    }

    /// `conv2d(conv2d(x, first), second)` for a 1x1 `second` with one output channel: in fp32
    /// one convolution with the weights folded; in bf16 band by band (the same values as the
    /// two convolutions).
    public func convolve(_ x: FeatureMap, _ first: ConvWeights, then second: ConvWeights) -> FeatureMap {
        precondition(
            second.kernel == 1 && second.stride == 1 && second.padding == 0 && second.groups == 1
                && second.outChannels == 1 && second.inChannels == first.outChannels,
            "convolve(_:_:then:): the second convolution must be 1x1 from \(first.outChannels) channels to 1")
        if precision == .fp32, first.groups == 1 {
            let folded = Self.folded(first, then: second)
            return folded.stride * folded.inChannels <= 8 ? convToOneChannel(x, folded) : conv2d(x, folded)
        }
        let (ho, wo) = first.outputSize(height: x.height, width: x.width)
        let cin = second.inChannels
        var out = FeatureMap(uninitializedHeight: ho, width: wo, channels: 1)
        var done = false
        out.data.withUnsafeMutableBufferPointer { op in
            let dst = UncheckedSendableBox(op.baseAddress!)
            // As `conv2d` computes a one-channel 1x1 convolution in bf16: the GEMM.
            withOperand(second) { b, bias in
                let args = UncheckedSendableBox((b, bias))
                done = forEachConvolvedBand(x, first) { rows, values in
                    let (b, bias) = args.value
                    serialGEMM(
                        m: rows.count * wo, n: 1, k: cin, a: values, lda: cin, b: b,
                        c: dst.value + rows.lowerBound * wo, ldc: 1, bias: bias, accumulate: false, gelu: false)
                }
            }
        }
        return done ? out : conv2d(conv2d(x, first), second)
    }

    /// `second` (1x1, one output channel) after `first` as one convolution:
    /// `w[i, ky, kx] = sum_c second[c] first[c, i, ky, kx]`, `b = second.b + sum_c second[c] first.b[c]`
    /// (sums in Double).
    static func folded(_ first: ConvWeights, then second: ConvWeights) -> ConvWeights {
        let (cout, cin, k) = (first.outChannels, first.inChannels, first.kernel)
        let taps = cin * k * k
        var weight = [Float](repeating: 0, count: taps)
        for t in 0..<taps {
            var sum = 0.0
            for c in 0..<cout { sum += Double(second.weight[c]) * Double(first.weight[c * taps + t]) }
            weight[t] = Float(sum)
        }
        var bias = Double(second.bias?[0] ?? 0)
        if let b = first.bias { for c in 0..<cout { bias += Double(second.weight[c]) * Double(b[c]) } }
        return ConvWeights(
            outChannels: 1, inChannels: cin, kernel: k, stride: first.stride, padding: first.padding,
            weight: weight, bias: [Float(bias)])
    }

    /// The channel means of `conv2d(x, w)` without the map: per tap `(ky, kx)` and input
    /// channel, the sum of the input over the pixels that tap reads for every output pixel
    /// (zero padding reads nothing), then `mean[c] = b[c] + sum w[c, i, ky, kx] sums[ky, kx, i] / pixels`.
    /// Input rows go in blocks of 16 whose sums (in Double) are added in block order, so the
    /// result does not depend on the number of workers.
    func meansFromTapSums(_ x: FeatureMap, _ w: ConvWeights) -> [Float] {
        let (k, s, p, cin, cout) = (w.kernel, w.stride, w.padding, w.inChannels, w.outChannels)
        let (h, wd) = (x.height, x.width)
        let (ho, wo) = w.outputSize(height: h, width: wd)
        let tapCount = k * k * cin
        let blockRows = 16
        let blocks = (h + blockRows - 1) / blockRows
        var partial = [Double](repeating: 0, count: max(blocks, 1) * tapCount)
        x.data.withUnsafeBufferPointer { xp in
            partial.withUnsafeMutableBufferPointer { pp in
                let args = UncheckedSendableBox((xp.baseAddress!, pp.baseAddress!))
                parallel(blocks) { range in
                    let (src, sums) = args.value
                    // An input row's sums over the columns each kx reads, [k, cin].
                    var rowSums = [Double](repeating: 0, count: k * cin)
                    var total = [Double](repeating: 0, count: cin)
                    for block in range {
                        let out = sums + block * tapCount
                        for iy in (block * blockRows)..<min(h, (block + 1) * blockRows) {
                            let row = src + iy * wd * cin
                            for t in 0..<(k * cin) { rowSums[t] = 0 }
                            if s == 1 {
                                // Tap kx reads columns kx - p ..< kx - p + wo: the row's sum less
                                // the few columns outside that range.
                                for i in 0..<cin { total[i] = 0 }
                                for ix in 0..<wd { for i in 0..<cin { total[i] += Double(row[ix * cin + i]) } }
                                for kx in 0..<k {
                                    let (lo, hi) = (max(0, kx - p), min(wd, kx - p + wo))
                                    for i in 0..<cin {
                                        var sum = hi > lo ? total[i] : 0
                                        if hi > lo {
                                            for ix in 0..<lo { sum -= Double(row[ix * cin + i]) }
                                            for ix in hi..<wd { sum -= Double(row[ix * cin + i]) }
                                        }
                                        rowSums[kx * cin + i] = sum
                                    }
                                }
                            } else {
                                for kx in 0..<k {
                                    for ox in 0..<wo {
                                        let ix = ox * s - p + kx
                                        guard ix >= 0 && ix < wd else { continue }
                                        for i in 0..<cin { rowSums[kx * cin + i] += Double(row[ix * cin + i]) }
                                    }
                                }
                            }
                            // The kernel rows that read input row iy: iy = oy s - p + ky.
                            for ky in 0..<k {
                                let offset = iy + p - ky
                                guard offset >= 0 && offset % s == 0 && offset / s < ho else { continue }
                                for t in 0..<(k * cin) { out[ky * k * cin + t] += rowSums[t] }
                            }
                        }
                    }
                }
            }
        }
        var tapSums = [Double](repeating: 0, count: tapCount)
        for block in 0..<blocks { for t in 0..<tapCount { tapSums[t] += partial[block * tapCount + t] } }
        let pixels = Double(max(ho * wo, 1))
        return (0..<cout).map { c in
            var sum = 0.0
            for i in 0..<cin {
                for ky in 0..<k {
                    for kx in 0..<k {
                        sum += Double(w.weight[((c * cin + i) * k + ky) * k + kx]) * tapSums[(ky * k + kx) * cin + i]
                    }
                }
            }
            return Float(Double(w.bias?[c] ?? 0) + sum / pixels)
        }
    }

    /// `conv2d(x, w)` for one output channel (groups 1, `stride * inChannels <= 8`): per output
    /// row and kernel row, the input row flattened (pixels x channels, `padding` zero pixels
    /// each side) is correlated with that kernel row's `kernel * inChannels` weights at every
    /// position, 8 positions at a time, and the output pixels' positions (every
    /// `stride * inChannels`-th) are kept. The GEMM kernels would compute 16 output channels
    /// for the one.
    func convToOneChannel(_ x: FeatureMap, _ w: ConvWeights) -> FeatureMap {
        let (k, s, p, cin) = (w.kernel, w.stride, w.padding, w.inChannels)
        precondition(
            w.outChannels == 1 && w.groups == 1 && x.channels == cin && s * cin <= 8,
            "convToOneChannel: \(cin) -> \(w.outChannels) channels, stride \(s)")
        let (h, wd) = (x.height, x.width)
        let (ho, wo) = w.outputSize(height: h, width: wd)
        var out = FeatureMap(uninitializedHeight: ho, width: wo, channels: 1)
        guard ho > 0 && wo > 0 else { return out }
        let taps = k * cin  // one kernel row's weights, in (kx, channel) order
        var rowWeights = [Float](repeating: 0, count: k * taps)
        for ky in 0..<k {
            for kx in 0..<k {
                for i in 0..<cin { rowWeights[ky * taps + kx * cin + i] = w.weight[(i * k + ky) * k + kx] }
            }
        }
        let positions = ((wo - 1) * s * cin + 1 + 7) / 8 * 8
        let paddedLength = max(positions + taps, (wd + 2 * p) * cin)
        let bias = w.bias?[0] ?? 0
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                rowWeights.withUnsafeBufferPointer { wp in
                    let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, wp.baseAddress!))
                    parallel(ho, minimumChunk: 8) { range in
                        let (src, dst, weights) = args.value
                        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedLength)
                        let sums = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: positions / 8)
                        defer {
                            padded.deallocate()
                            sums.deallocate()
                        }
                        padded.initialize(repeating: 0, count: paddedLength)
                        let raw = UnsafeRawPointer(padded)
                        for oy in range {
                            sums.initialize(repeating: SIMD8(repeating: bias), count: positions / 8)
                            for ky in 0..<k {
                                let iy = oy * s - p + ky
                                guard iy >= 0 && iy < h else { continue }
                                (padded + p * cin).update(from: src + iy * wd * cin, count: wd * cin)
                                for j in 0..<taps {
                                    let weight = weights[ky * taps + j]
                                    for v in 0..<(positions / 8) {
                                        sums[v] +=
                                            weight
                                            * raw.loadUnaligned(
                                                fromByteOffset: (8 * v + j) * MemoryLayout<Float>.stride,
                                                as: SIMD8<Float>.self)
                                    }
                                }
                            }
                            let flat = UnsafeRawPointer(sums).assumingMemoryBound(to: Float.self)
                            for ox in 0..<wo { dst[oy * wo + ox] = flat[ox * s * cin] }
                        }
                    }
                }
            }
        }
        return out
    }
}
