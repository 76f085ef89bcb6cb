internal import CKernels
import Foundation

// Convolutions whose output is only needed reduced (its channel means, or a 1x1 convolution
// of it to one channel): at full resolution such a map is large (32 channels at 500x800 are
// 51 MB), and writing it out and reading it back cost more than computing it. These ops
// compute it in bands of output rows that stay in L2 and reduce each band at once.

extension CPUBackend {
    /// Output rows per band: about 256 KiB of fp32 output.
    static func bandRows(width: Int, channels: Int) -> Int { max(1, (1 << 16) / max(1, width * channels)) }

    /// Calls `reduce` with every band of output rows of `conv2d(x, w)` (the rows, and their
    /// values, `[rows, width, channels]`), the bands shared among the workers. Returns false,
    /// without calling it, where the implicit-im2col kernels do not take the shape.
    func forEachConvolvedBand(
        _ x: FeatureMap, _ w: ConvWeights, _ reduce: (Range<Int>, UnsafePointer<Float>) -> Void
    ) -> Bool {
        let (k, s, p, cin, cout) = (w.kernel, w.stride, w.padding, w.inChannels, w.outChannels)
        guard let kernels, w.groups == 1, k <= 8, precision == .fp32 || (avx512Kernels && cin % 2 == 0) else {
            return false
        }
        let (ho, wo) = w.outputSize(height: x.height, width: x.width)
        let band = Self.bandRows(width: wo, channels: cout)
        let bands = (ho + band - 1) / band
        let (inH, inW) = (x.height, x.width)
        let failed = UncheckedSendableBox(UnsafeMutablePointer<Int32>.allocate(capacity: 1))
        failed.value.initialize(to: 0)
        defer { failed.value.deallocate() }
        withoutActuallyEscaping(reduce) { reduce in
            let reduceBox = UncheckedSendableBox(reduce)
            func run(source: UnsafeRawPointer, packed: UnsafeRawPointer, bias: UnsafePointer<Float>?) {
                let args = UncheckedSendableBox((source, packed, bias))
                parallel(bands) { range in
                    let (source, packed, bias) = args.value
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: band * wo * cout)
                    defer { scratch.deallocate() }
                    for b in range {
                        let rows = (b * band)..<min(ho, (b + 1) * band)
                        let (first, count) = (Int32(rows.lowerBound), Int32(rows.count))
                        let ok =
                            precision == .bf16
                            ? ck_conv_bf16_into(
                                source.assumingMemoryBound(to: UInt16.self), Int32(inH), Int32(inW), Int32(cin),
                                Int32(k), Int32(s), Int32(p), packed.assumingMemoryBound(to: UInt16.self),
                                Int32(cout), scratch, Int32(wo), bias, 0, first, count, first)
                            : kernels.convInto(
                                source.assumingMemoryBound(to: Float.self), Int32(inH), Int32(inW), Int32(cin),
                                Int32(k), Int32(s), Int32(p), packed.assumingMemoryBound(to: Float.self),
                                Int32(cout), scratch, Int32(wo), bias, 0, first, count, first)
                        if ok == 0 {
                            failed.value.pointee = 1
                            return
                        }
                        reduceBox.value(rows, scratch)
                    }
                }
            }
            func withBias(_ body: (UnsafePointer<Float>?) -> Void) {
                if let bias = w.bias { bias.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
            }
            x.data.withUnsafeBufferPointer { xp in
                if precision == .bf16 {
                    // The bf16 kernel reads the image converted once, as `conv2d` does.
                    let converted = UnsafeMutablePointer<UInt16>.allocate(capacity: xp.count)
                    defer { converted.deallocate() }
                    let (src, dst) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(converted))
                    parallel(xp.count, minimumChunk: 1 << 15) { range in
                        ck_f32_to_bf16(src.value + range.lowerBound, dst.value + range.lowerBound, range.count)
                    }
                    w.bf16GEMMWeight.withUnsafeBufferPointer { bp in
                        withBias { run(source: converted, packed: bp.baseAddress!, bias: $0) }
                    }
                } else {
                    w.f32GEMMWeight.withUnsafeBufferPointer { bp in
                        withBias { run(source: xp.baseAddress!, packed: bp.baseAddress!, bias: $0) }
                    }
                }
            }
        }
        precondition(failed.value.pointee == 0, "conv2d: the direct kernel failed (out of memory)")
        return true
    }

    /// The channel means of `conv2d(x, w)`, band by band: each band's sums (fp32 partial sums
    /// of 256 pixels, accumulated in double) are kept apart and added in band order, so the
    /// result does not depend on the number of workers.
    public func convolvedChannelMeans(_ x: FeatureMap, _ w: ConvWeights) -> [Float] {
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

    /// `conv2d(conv2d(x, first), second)` for a 1x1 `second` with one output channel, band by
    /// band (the same values as the two convolutions).
    public func convolve(_ x: FeatureMap, _ first: ConvWeights, then second: ConvWeights) -> FeatureMap {
        precondition(
            second.kernel == 1 && second.stride == 1 && second.padding == 0 && second.groups == 1
                && second.outChannels == 1 && second.inChannels == first.outChannels,
            "convolve(_:_:then:): the second convolution must be 1x1 from \(first.outChannels) channels to 1")
        let (ho, wo) = first.outputSize(height: x.height, width: x.width)
        let cin = second.inChannels
        var out = FeatureMap(uninitializedHeight: ho, width: wo, channels: 1)
        var done = false
        out.data.withUnsafeMutableBufferPointer { op in
            let dst = UncheckedSendableBox(op.baseAddress!)
            // As `conv2d` computes a one-channel 1x1 convolution: a dot product per pixel in
            // fp32, the GEMM in bf16.
            if precision == .fp32, let kernels {
                second.gemmWeight.withUnsafeBufferPointer { wp in
                    func run(_ bias: UnsafePointer<Float>?) {
                        let args = UncheckedSendableBox((wp.baseAddress!, bias))
                        done = forEachConvolvedBand(x, first) { rows, values in
                            let (weight, bias) = args.value
                            kernels.dotRows(
                                Int32(rows.count * wo), Int32(cin), values, Int32(cin), weight, bias,
                                dst.value + rows.lowerBound * wo, 1, 0)
                        }
                    }
                    if let bias = second.bias {
                        bias.withUnsafeBufferPointer { run($0.baseAddress!) }
                    } else {
                        run(nil)
                    }
                }
            } else {
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
        }
        return done ? out : conv2d(conv2d(x, first), second)
    }
}
