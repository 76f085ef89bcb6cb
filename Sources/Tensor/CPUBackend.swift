internal import CKernels
internal import COpenBLAS
import Dispatch
import Foundation

/// The CPU backend: GEMMs through OpenBLAS `cblas_sgemm` (fp32) or the AVX-512 BF16 kernel
/// of CKernels (bf16), everything else in Swift loops spread over the cores with
/// `DispatchQueue.concurrentPerform`.
public struct CPUBackend: TensorBackend {
    /// Worker threads for the non-GEMM loops (and OpenBLAS).
    public let threads: Int
    /// The GEMM arithmetic of linears and convolutions (fp32 unless asked otherwise).
    public let precision: Precision
    /// The fp32 SIMD kernels of CKernels this backend calls (the widest the CPU runs); nil
    /// falls back to the portable Swift SIMD code (CPUs without AVX2, and tests of the
    /// fallback).
    var kernels = F32Kernels.native
    /// Which 3x3 convolutions (stride 1, padding 1) run by Winograd's F(2x2, 3x3) instead of
    /// the direct kernel.
    var winograd = WinogradUse.native
    /// Whether the kernels are the AVX-512 build, which the bf16 kernels go with.
    var avx512Kernels: Bool { kernels?.instructionSet == .avx512 }

    /// The instruction set of the fp32 kernels this backend runs ("AVX-512", "AVX2+FMA"), or
    /// "portable" (Swift SIMD loops and OpenBLAS) on CPUs without AVX2.
    public var kernelInstructionSet: String { kernels?.instructionSet.rawValue ?? "portable" }

    /// Creates an fp32 CPU backend using `threads` cores (default: all active cores).
    public init(threads: Int? = nil) {
        self.init(checkedThreads: threads, precision: .fp32)
    }

    /// Creates a CPU backend with the given GEMM precision.
    /// - Throws: ``CPUBackendError/unsupportedPrecision(_:reason:)`` for bf16 on a CPU
    ///   without AVX512_BF16 (use fp32 there).
    public init(threads: Int? = nil, precision: Precision) throws(CPUBackendError) {
        guard precision.isSupported else {
            throw .unsupportedPrecision(
                precision, reason: "bf16 needs the AVX512_BF16 instructions (vdpbf16ps) with AVX-512 enabled")
        }
        self.init(checkedThreads: threads, precision: precision)
    }

    private init(checkedThreads threads: Int?, precision: Precision) {
        let n = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = n
        self.precision = precision
        // OpenBLAS runs single-threaded: its idle workers spin and yield while our own
        // parallel loops run, which on 2 cores cost ~20% in scheduling. Large GEMMs are split
        // by rows across our workers instead (see `gemm`).
        openblas_set_num_threads(1)
        Self.keepFreedMemory
    }

    /// Every op allocates its output, and glibc serves blocks over 32 MiB with fresh mmaps
    /// whose pages fault in zeroed on first touch and go back to the kernel on free. Keeping
    /// big blocks in the heap and not trimming it lets the next op reuse the memory: 6.6 ->
    /// 5.4 s per frame at 500x800 (docs/performance.md). Applied once per process.
    static let keepFreedMemory: Void = {
        #if os(Linux)
            // <malloc.h> is not in the Glibc module: M_TRIM_THRESHOLD is -1, M_MMAP_MAX -4.
            _ = glibcMallopt(-4, 0)
            _ = glibcMallopt(-1, Int32.max)
        #endif
    }()

    /// Runs `body(chunk)` over `count` items split into contiguous chunks, one per worker.
    /// Runs a direct convolution kernel (`ck_conv_f32`, `ck_conv_bf16`) over the output rows
    /// on the workers, with the layer's bias (or none); `call` returns the kernel's status.
    func directConvolution(
        rows: Int, width: Int, bias: [Float]?, kernel: String,
        _ call: @escaping @Sendable (_ rows: Range<Int>, _ bias: UnsafePointer<Float>?) -> Int32
    ) {
        func run(_ pointer: UnsafePointer<Float>?) {
            let box = UncheckedSendableBox(pointer)
            parallel(rows, minimumChunk: max(1, 64 / max(width, 1))) { range in
                precondition(call(range, box.value) != 0, "conv2d: the \(kernel) kernel failed (out of memory)")
            }
        }
        if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
    }

    /// Gives `x` storage of its own before an op changes it in place: a map shared with another
    /// value (a residual kept for later) is copied by the workers instead of by the buffer's
    /// own copy on write on one thread (at 5.5 MB, half a millisecond, several per frame).
    func makeUnique(_ x: inout FeatureMap) {
        guard !x.data.isUniquelyReferenced() else { return }
        var copy = FeatureMap(uninitializedHeight: x.height, width: x.width, channels: x.channels)
        copy.data.withUnsafeMutableBufferPointer { d in
            x.data.withUnsafeBufferPointer { s in
                let (dst, src) = (UncheckedSendableBox(d.baseAddress!), UncheckedSendableBox(s.baseAddress!))
                parallel(s.count, minimumChunk: 1 << 16) { range in
                    (dst.value + range.lowerBound).update(from: src.value + range.lowerBound, count: range.count)
                }
            }
        }
        x = copy
    }

    func parallel(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = max(1, min(threads, count / max(minimumChunk, 1)))
        if workers == 1 {
            body(0..<count)
            return
        }
        // A few pieces per worker, each taken by whichever worker is free: with one piece per
        // worker, a worker that starts late or runs slower (an SMT sibling, another process on
        // its core) leaves the others idle at the end of every operation.
        let pieces = max(workers, min(workers * 4, count / max(minimumChunk, 1)))
        let chunk = (count + pieces - 1) / pieces
        let next = PieceCounter()
        withoutActuallyEscaping(body) { escapable in
            let task = UncheckedSendableBox(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let i = next.take(below: pieces) {
                    let lo = i * chunk
                    let hi = min(count, lo + chunk)
                    if lo < hi { task.value(lo..<hi) }
                }
            }
        }
    }

    /// `C[m, n] = A^T B` with `A` stored `[k, m]` and `B` stored `[k, n]`.
    func cblasGemmTN(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b,
            Int32(ldb), 0, c, Int32(ldc))
    }

    public func conv2d(_ x: FeatureMap, _ w: ConvWeights) -> FeatureMap {
        precondition(
            x.channels == w.inChannels, "conv2d: input has \(x.channels) channels, weights expect \(w.inChannels)")
        let (ho, wo) = w.outputSize(height: x.height, width: x.width)
        var out = FeatureMap(uninitializedHeight: ho, width: wo, channels: w.outChannels)
        if w.groups == 1 {
            convGEMM(x, w, &out)
        } else {
            precondition(
                w.groups == w.inChannels && w.outChannels == w.inChannels,
                "conv2d: only depthwise grouping is supported")
            convDepthwise(x, w, &out)
        }
        return out
    }

    /// `out = conv(x) (+ out when accumulate)` through im2col and the fused GEMM.
    func convGEMM(_ x: FeatureMap, _ w: ConvWeights, _ out: inout FeatureMap, accumulate: Bool = false) {
        let (k, s, p, cin, cout) = (w.kernel, w.stride, w.padding, w.inChannels, w.outChannels)
        let (ho, wo) = (out.height, out.width)
        let pixels = ho * wo
        let patch = k * k * cin
        if k == 1 && s == 1 && p == 0 && cout == 1 && precision == .fp32, let kernels {
            // One output channel: a dot product per pixel (the GEMM would pad it to 16 columns).
            x.data.withUnsafeBufferPointer { xp in
                out.data.withUnsafeMutableBufferPointer { op in
                    w.gemmWeight.withUnsafeBufferPointer { wp in
                        func run(_ bias: UnsafePointer<Float>?) {
                            let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, wp.baseAddress!, bias))
                            parallel(pixels, minimumChunk: 4096) { range in
                                let (a, c, weight, bias) = args.value
                                kernels.dotRows(
                                    Int32(range.count), Int32(cin), a + range.lowerBound * cin, Int32(cin), weight,
                                    bias, c + range.lowerBound, 1, accumulate ? 1 : 0)
                            }
                        }
                        if let bias = w.bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                    }
                }
            }
            return
        }
        if k == 1 && s == 1 && p == 0 {
            x.data.withUnsafeBufferPointer { xp in
                out.data.withUnsafeMutableBufferPointer { op in
                    withOperand(w) { b, bias in
                        fusedGEMM(
                            m: pixels, n: cout, k: patch, a: xp.baseAddress!, lda: patch, b: b, c: op.baseAddress!,
                            ldc: cout, bias: bias, accumulate: accumulate, gelu: false)
                    }
                }
            }
            return
        }
        if precision == .fp32 && k == 3 && s == 1 && p == 1, let kernels, winograd.applies(to: kernels, cin, cout) {
            let (h, wd) = (x.height, x.width)
            x.data.withUnsafeBufferPointer { xp in
                out.data.withUnsafeMutableBufferPointer { op in
                    w.f32WinogradWeight.withUnsafeBufferPointer { up in
                        let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, up.baseAddress!))
                        directConvolution(rows: (ho + 1) / 2, width: wo, bias: w.bias, kernel: "Winograd") {
                            tileRows, bias in
                            let (src, dst, packed) = args.value
                            return kernels.winograd(
                                src, Int32(h), Int32(wd), Int32(cin), packed, Int32(cout), dst, bias,
                                accumulate ? 1 : 0, Int32(tileRows.lowerBound), Int32(tileRows.count))
                        }
                    }
                }
            }
            return
        }
        if precision == .fp32 && k <= 8, let kernels {
            // The implicit-im2col kernel of CKernels: patches read in place, no copies.
            let (inH, inW) = (x.height, x.width)
            x.data.withUnsafeBufferPointer { xp in
                out.data.withUnsafeMutableBufferPointer { op in
                    w.f32GEMMWeight.withUnsafeBufferPointer { bp in
                        let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, bp.baseAddress!))
                        directConvolution(rows: ho, width: wo, bias: w.bias, kernel: "direct") { rows, bias in
                            let (src, dst, packed) = args.value
                            return kernels.conv(
                                src, Int32(inH), Int32(inW), Int32(cin), Int32(k), Int32(s), Int32(p), packed,
                                Int32(cout), dst, Int32(wo), bias, accumulate ? 1 : 0, Int32(rows.lowerBound),
                                Int32(rows.count))
                        }
                    }
                }
            }
            return
        }
        if avx512Kernels && precision == .bf16 && cin % 2 == 0 && k <= 8 {
            // The bf16 implicit-im2col kernel, on the image converted to bf16 once.
            let (inH, inW) = (x.height, x.width)
            let converted = UnsafeMutablePointer<UInt16>.allocate(capacity: x.data.count)
            defer { converted.deallocate() }
            x.data.withUnsafeBufferPointer { xp in
                let (src, dst) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(converted))
                parallel(xp.count, minimumChunk: 1 << 15) { range in
                    ck_f32_to_bf16(src.value + range.lowerBound, dst.value + range.lowerBound, range.count)
                }
            }
            out.data.withUnsafeMutableBufferPointer { op in
                w.bf16GEMMWeight.withUnsafeBufferPointer { bp in
                    let args = UncheckedSendableBox((UnsafePointer(converted), op.baseAddress!, bp.baseAddress!))
                    directConvolution(rows: ho, width: wo, bias: w.bias, kernel: "direct bf16") { rows, bias in
                        let (src, dst, packed) = args.value
                        return ck_conv_bf16(
                            src, Int32(inH), Int32(inW), Int32(cin), Int32(k), Int32(s), Int32(p), packed,
                            Int32(cout), dst, Int32(wo), bias, accumulate ? 1 : 0, Int32(rows.lowerBound),
                            Int32(rows.count))
                    }
                }
            }
            return
        }
        // Each worker takes a share of the output rows and goes through them in bands of about
        // 1 MiB of im2col scratch, each multiplied right after it is built, while in L2.
        let bandRows = max(1, (1 << 18) / max(1, wo * patch))
        let (inH, inW) = (x.height, x.width)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                withOperand(w) { b, bias in
                    let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, b, bias))
                    parallel(ho, minimumChunk: max(1, 64 / max(wo, 1))) { range in
                        let (xb, ob, b, bias) = args.value
                        var scratch = TensorBuffer(uninitialized: min(bandRows, range.count) * wo * patch)
                        scratch.withUnsafeMutableBufferPointer { sp in
                            let col = sp.baseAddress!
                            var y0 = range.lowerBound
                            while y0 < range.upperBound {
                                let rows = min(bandRows, range.upperBound - y0)
                                for r in 0..<rows {
                                    for ox in 0..<wo {
                                        let base = col + (r * wo + ox) * patch
                                        // The k taps of a kernel row are k neighbouring input
                                        // pixels: one copy for the part inside the image.
                                        let ix0 = ox * s - p
                                        let lo = max(0, -ix0), hi = min(k, inW - ix0)
                                        for ky in 0..<k {
                                            let iy = (y0 + r) * s - p + ky
                                            let dst = base + ky * k * cin
                                            guard iy >= 0, iy < inH, lo < hi else {
                                                dst.update(repeating: 0, count: k * cin)
                                                continue
                                            }
                                            if lo > 0 { dst.update(repeating: 0, count: lo * cin) }
                                            (dst + lo * cin).update(
                                                from: xb + (iy * inW + ix0 + lo) * cin, count: (hi - lo) * cin)
                                            if hi < k { (dst + hi * cin).update(repeating: 0, count: (k - hi) * cin) }
                                        }
                                    }
                                }
                                serialGEMM(
                                    m: rows * wo, n: cout, k: patch, a: col, lda: patch, b: b, c: ob + y0 * wo * cout,
                                    ldc: cout, bias: bias, accumulate: accumulate, gelu: false)
                                y0 += rows
                            }
                        }
                    }
                }
            }
        }
    }

    private func convDepthwise(_ x: FeatureMap, _ w: ConvWeights, _ out: inout FeatureMap) {
        let (k, s, p, c) = (w.kernel, w.stride, w.padding, w.inChannels)
        let (ho, wo) = (out.height, out.width)
        // Weights re-laid [ky, kx, c] so the inner loop runs over contiguous channels.
        var wt = [Float](repeating: 0, count: k * k * c)
        for ch in 0..<c { for t in 0..<k * k { wt[t * c + ch] = w.weight[ch * k * k + t] } }
        if let kernels {
            // The direct kernel of CKernels, output rows split over the workers.
            let (h, wd) = (x.height, x.width)
            out.data.withUnsafeMutableBufferPointer { op in
                x.data.withUnsafeBufferPointer { xp in
                    wt.withUnsafeBufferPointer { wp in
                        func run(_ bias: UnsafePointer<Float>?) {
                            let args = UncheckedSendableBox((xp.baseAddress!, op.baseAddress!, wp.baseAddress!, bias))
                            parallel(ho, minimumChunk: max(1, 256 / max(wo, 1))) { rows in
                                let (src, dst, weight, bias) = args.value
                                kernels.depthwiseConv(
                                    src, dst, Int32(h), Int32(wd), Int32(c), Int32(k), Int32(s), Int32(p), weight, bias,
                                    Int32(wo), Int32(rows.lowerBound), Int32(rows.count))
                            }
                        }
                        if let bias = w.bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                    }
                }
            }
            return
        }
        let bias = w.bias ?? [Float](repeating: 0, count: c)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                parallel(ho) { range in
                    for oy in range {
                        for ox in 0..<wo {
                            let dst = (oy * wo + ox) * c
                            for ch in 0..<c { op[dst + ch] = bias[ch] }
                            for ky in 0..<k {
                                let iy = oy * s - p + ky
                                if iy < 0 || iy >= x.height { continue }
                                for kx in 0..<k {
                                    let ix = ox * s - p + kx
                                    if ix < 0 || ix >= x.width { continue }
                                    let src = (iy * x.width + ix) * c
                                    let wb = (ky * k + kx) * c
                                    for ch in 0..<c { op[dst + ch] += xp[src + ch] * wt[wb + ch] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func linear(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap {
        precondition(
            x.channels == w.inFeatures, "linear: input has \(x.channels) features, weights expect \(w.inFeatures)")
        var out = FeatureMap(uninitializedHeight: x.height, width: x.width, channels: w.outFeatures)
        linear(rows: x.pixelCount, x.data, w, into: &out.data)
        return out
    }

    /// `out[rows, n] = x * W^T + bias (+ out when accumulate)`, then GELU when `gelu`.
    func linear(
        rows: Int, _ x: TensorBuffer, _ w: LinearWeights, into out: inout TensorBuffer, accumulate: Bool = false,
        gelu: Bool = false
    ) {
        let (n, k) = (w.outFeatures, w.inFeatures)
        out.withUnsafeMutableBufferPointer { op in
            x.withUnsafeBufferPointer { xp in
                withOperand(w) { b, bias in
                    fusedGEMM(
                        m: rows, n: n, k: k, a: xp.baseAddress!, lda: k, b: b, c: op.baseAddress!, ldc: n, bias: bias,
                        accumulate: accumulate, gelu: gelu)
                }
            }
        }
    }

    /// Calls `body` with a convolution's weights (im2col layout) as the GEMM operand this
    /// backend uses and its bias.
    func withOperand(_ w: ConvWeights, _ body: (GEMMOperand, UnsafePointer<Float>?) -> Void) {
        func withBias(_ b: GEMMOperand) {
            if let bias = w.bias { bias.withUnsafeBufferPointer { body(b, $0.baseAddress!) } } else { body(b, nil) }
        }
        if precision == .bf16 {
            w.bf16GEMMWeight.withUnsafeBufferPointer { withBias(.bf16($0.baseAddress!)) }
        } else if kernels != nil {
            w.f32GEMMWeight.withUnsafeBufferPointer { withBias(.f32Packed($0.baseAddress!)) }
        } else {
            w.gemmWeight.withUnsafeBufferPointer {
                withBias(.fp32($0.baseAddress!, ldb: w.outChannels, transposed: false))
            }
        }
    }

    /// Calls `body` with a linear layer's weights as the GEMM operand this backend uses
    /// (packed bf16, packed fp32, or plain for OpenBLAS) and its bias.
    func withOperand(_ w: LinearWeights, _ body: (GEMMOperand, UnsafePointer<Float>?) -> Void) {
        func withBias(_ b: GEMMOperand) {
            if let bias = w.bias { bias.withUnsafeBufferPointer { body(b, $0.baseAddress!) } } else { body(b, nil) }
        }
        if precision == .bf16 {
            w.bf16Weight.withUnsafeBufferPointer { withBias(.bf16($0.baseAddress!)) }
        } else if kernels != nil {
            w.f32Weight.withUnsafeBufferPointer { withBias(.f32Packed($0.baseAddress!)) }
        } else {
            w.weight.withUnsafeBufferPointer { withBias(.fp32($0.baseAddress!, ldb: w.inFeatures, transposed: true)) }
        }
    }

    public func layerNorm(_ x: FeatureMap, _ n: NormWeights) -> FeatureMap {
        let c = x.channels
        precondition(n.weight.count == c, "layerNorm: \(n.weight.count) weights for \(c) channels")
        var out = FeatureMap(uninitializedHeight: x.height, width: x.width, channels: c)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                n.weight.withUnsafeBufferPointer { wp in
                    n.bias.withUnsafeBufferPointer { bp in
                        parallel(x.pixelCount, minimumChunk: 256) { range in
                            normalizeRows(
                                xp.baseAddress! + range.lowerBound * c, index: nil, rows: range.count, channels: c,
                                wp.baseAddress!, bp.baseAddress!, n.epsilon,
                                into: op.baseAddress! + range.lowerBound * c)
                        }
                    }
                }
            }
        }
        return out
    }

    /// LayerNorm of `rows` rows into the contiguous `[rows, c]` at `y`: row `r` of `y` from
    /// row `index[r]` of `x` (or row `r` without an index), through the AVX-512 kernel of
    /// CKernels or the portable loop.
    func normalizeRows(
        _ x: UnsafePointer<Float>, index: UnsafePointer<Int32>?, rows: Int, channels c: Int,
        _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ epsilon: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        if let kernels, kernels.layerNorm(x, index, Int32(rows), Int32(c), weight, bias, epsilon, y) != 0 {
            return
        }
        if let index {
            for r in 0..<rows { Self.layerNormRows(0..<1, x + Int(index[r]) * c, y + r * c, c, weight, bias, epsilon) }
        } else {
            Self.layerNormRows(0..<rows, x, y, c, weight, bias, epsilon)
        }
    }

    /// LayerNorm of rows `range` of `[rows, c]`, 16 channels per vector.
    static func layerNormRows(
        _ range: Range<Int>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ c: Int,
        _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ epsilon: Float
    ) {
        typealias V = SIMD16<Float>
        let vectors = c / 16
        let wRaw = UnsafeRawPointer(weight), bRaw = UnsafeRawPointer(bias)
        for p in range {
            let row = UnsafeRawPointer(x + p * c)
            var sum = V()
            for k in 0..<vectors { sum += row.loadUnaligned(fromByteOffset: 64 * k, as: V.self) }
            var total = sum.sum()
            for i in (vectors * 16)..<c { total += x[p * c + i] }
            let mean = total / Float(c)
            var sq = V()
            for k in 0..<vectors {
                let d = row.loadUnaligned(fromByteOffset: 64 * k, as: V.self) - mean
                sq += d * d
            }
            var variance = sq.sum()
            for i in (vectors * 16)..<c { let d = x[p * c + i] - mean; variance += d * d }
            variance /= Float(c)
            let inv = 1 / (variance + epsilon).squareRoot()
            let out = UnsafeMutableRawPointer(y + p * c)
            for k in 0..<vectors {
                let v = (row.loadUnaligned(fromByteOffset: 64 * k, as: V.self) - mean) * inv
                let r =
                    v * wRaw.loadUnaligned(fromByteOffset: 64 * k, as: V.self)
                    + bRaw.loadUnaligned(fromByteOffset: 64 * k, as: V.self)
                out.storeBytes(of: r, toByteOffset: 64 * k, as: V.self)
            }
            for i in (vectors * 16)..<c { y[p * c + i] = (x[p * c + i] - mean) * inv * weight[i] + bias[i] }
        }
    }

    public func gelu(_ x: inout FeatureMap) {
        makeUnique(&x)
        let kernels = kernels
        x.data.withUnsafeMutableBufferPointer { xp in
            let base = UncheckedSendableBox(xp.baseAddress!)
            parallel(xp.count, minimumChunk: 1 << 14) { range in
                if let kernels {
                    kernels.gelu(base.value + range.lowerBound, range.count)
                } else {
                    Self.geluPortable(base.value + range.lowerBound, range.count)
                }
            }
        }
    }

    public func sigmoid(_ x: inout FeatureMap) {
        makeUnique(&x)
        let kernels = kernels
        x.data.withUnsafeMutableBufferPointer { xp in
            let base = UncheckedSendableBox(xp.baseAddress!)
            parallel(xp.count, minimumChunk: 1 << 14) { range in
                if let kernels {
                    kernels.sigmoid(base.value + range.lowerBound, range.count)
                } else {
                    for i in range { base.value[i] = 1 / (1 + expf(-base.value[i])) }
                }
            }
        }
    }

    public func add(_ a: inout FeatureMap, _ b: FeatureMap) {
        makeUnique(&a)
        precondition(a.data.count == b.data.count, "add: shapes differ")
        a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                let (a, b) = (UncheckedSendableBox(ap.baseAddress!), UncheckedSendableBox(bp.baseAddress!))
                parallel(ap.count, minimumChunk: 1 << 16) { range in
                    for i in range { a.value[i] += b.value[i] }
                }
            }
        }
    }

    public func scaleChannels(_ x: inout FeatureMap, by scale: [Float]) {
        makeUnique(&x)
        let c = x.channels
        precondition(scale.count == c, "scaleChannels: sizes differ")
        let pixels = x.pixelCount
        x.data.withUnsafeMutableBufferPointer { xp in
            scale.withUnsafeBufferPointer { sp in
                let (d, f) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(sp.baseAddress!))
                parallel(pixels, minimumChunk: 4096) { range in
                    for p in range { for i in 0..<c { d.value[p * c + i] *= f.value[i] } }
                }
            }
        }
    }

    public func multiplyPixels(_ x: inout FeatureMap, by mask: FeatureMap) {
        makeUnique(&x)
        precondition(mask.channels == 1 && mask.pixelCount == x.pixelCount, "multiplyPixels: shapes differ")
        let c = x.channels
        x.data.withUnsafeMutableBufferPointer { xp in
            mask.data.withUnsafeBufferPointer { mp in
                let (d, m) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(mp.baseAddress!))
                parallel(mp.count, minimumChunk: 1 << 14) { range in
                    for p in range {
                        let f = m.value[p]
                        for i in 0..<c { d.value[p * c + i] *= f }
                    }
                }
            }
        }
    }

    /// Per-channel means: each worker sums its share of the pixels (fp32 partial sums over 256
    /// pixels, accumulated in double), then the shares are added.
    public func globalAveragePool(_ x: FeatureMap) -> [Float] {
        let (c, pixels) = (x.channels, x.pixelCount)
        let workers = max(1, min(threads, pixels / 4096))
        var partial = [Double](repeating: 0, count: workers * c)
        x.data.withUnsafeBufferPointer { xp in
            partial.withUnsafeMutableBufferPointer { sp in
                let (src, sums) = (UncheckedSendableBox(xp.baseAddress!), UncheckedSendableBox(sp.baseAddress!))
                let chunk = (pixels + workers - 1) / workers
                parallel(workers) { range in
                    for wi in range {
                        let lo = wi * chunk, hi = min(pixels, lo + chunk)
                        if lo < hi { ck_channel_sums(src.value + lo * c, hi - lo, Int32(c), sums.value + wi * c) }
                    }
                }
            }
        }
        return (0..<c).map { i in
            Float((0..<workers).reduce(0) { $0 + partial[$1 * c + i] } / Double(max(pixels, 1)))
        }
    }

    public func pixelShuffle(_ x: FeatureMap, factor r: Int) -> FeatureMap {
        precondition(x.channels % (r * r) == 0, "pixelShuffle: channels not divisible by \(r * r)")
        let c = x.channels / (r * r)
        var out = FeatureMap(uninitializedHeight: x.height * r, width: x.width * r, channels: c)
        let (inW, inC, outW) = (x.width, x.channels, out.width)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                let (dst, src) = (UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(xp.baseAddress!))
                parallel(x.height, minimumChunk: 8) { rows in
                    for h in rows {
                        for w in 0..<inW {
                            let s = src.value + (h * inW + w) * inC
                            for i in 0..<r {
                                for j in 0..<r {
                                    let d = dst.value + ((h * r + i) * outW + w * r + j) * c
                                    for ch in 0..<c { d[ch] = s[ch * r * r + i * r + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    public func reflectPad(_ x: FeatureMap, toMultipleOf m: Int) -> FeatureMap {
        let ph = (m - x.height % m) % m
        let pw = (m - x.width % m) % m
        if ph == 0 && pw == 0 { return x }
        precondition(
            ph < x.height && pw < x.width,
            "reflectPad: padding \(ph)x\(pw) must be smaller than the input \(x.height)x\(x.width)")
        let (h2, w2, c) = (x.height + ph, x.width + pw, x.channels)
        var out = FeatureMap(uninitializedHeight: h2, width: w2, channels: c)
        let (h, w) = (x.height, x.width)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                let (dst, src) = (UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(xp.baseAddress!))
                parallel(h2, minimumChunk: 8) { rows in
                    for y in rows {
                        // The row inside the image in one copy, the mirrored columns pixel by pixel.
                        let sy = y < h ? y : 2 * (h - 1) - y
                        let d = dst.value + y * w2 * c, s = src.value + sy * w * c
                        d.update(from: s, count: w * c)
                        for xx in w..<w2 { (d + xx * c).update(from: s + (2 * (w - 1) - xx) * c, count: c) }
                    }
                }
            }
        }
        return out
    }

    public func crop(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap {
        precondition(height <= x.height && width <= x.width, "crop larger than input")
        if height == x.height && width == x.width { return x }
        var out = FeatureMap(uninitializedHeight: height, width: width, channels: x.channels)
        let c = x.channels
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                let (dst, src) = (UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(xp.baseAddress!))
                parallel(height, minimumChunk: 16) { rows in
                    for y in rows {
                        (dst.value + y * width * c).update(from: src.value + y * x.width * c, count: width * c)
                    }
                }
            }
        }
        return out
    }

    /// ``Tensor/featureMap(batch:)`` with the pixels shared among the workers.
    public func featureMap(_ t: Tensor, batch n: Int) -> FeatureMap {
        precondition(t.shape.count == 4 && (0..<t.shape[0]).contains(n), "featureMap: no image \(n) in \(t.shape)")
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        let pixels = h * w
        var out = FeatureMap(uninitializedHeight: h, width: w, channels: c)
        out.data.withUnsafeMutableBufferPointer { op in
            t.data.withUnsafeBufferPointer { tp in
                let (dst, src) = (
                    UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(tp.baseAddress! + n * c * pixels)
                )
                parallel(pixels, minimumChunk: 1 << 14) { range in
                    FeatureMap.transpose(
                        src.value + range.lowerBound, rows: c, columns: range.count, sourceStride: pixels,
                        into: dst.value + range.lowerBound * c, destinationStride: c)
                }
            }
        }
        return out
    }

    /// ``Tensor/init(stacking:)`` with the pixels shared among the workers.
    public func stack(_ maps: [FeatureMap]) -> Tensor {
        precondition(!maps.isEmpty, "stack: needs at least one map")
        let first = maps[0]
        for m in maps {
            precondition(
                m.height == first.height && m.width == first.width && m.channels == first.channels,
                "stack: sizes differ")
        }
        let (c, pixels) = (first.channels, first.pixelCount)
        let size = c * pixels
        let data = [Float](unsafeUninitializedCapacity: maps.count * size) { out, initialized in
            for (n, m) in maps.enumerated() {
                m.data.withUnsafeBufferPointer { mp in
                    let (dst, src) = (
                        UncheckedSendableBox(out.baseAddress! + n * size), UncheckedSendableBox(mp.baseAddress!)
                    )
                    parallel(pixels, minimumChunk: 1 << 14) { range in
                        FeatureMap.transpose(
                            src.value + range.lowerBound * c, rows: range.count, columns: c, sourceStride: c,
                            into: dst.value + range.lowerBound, destinationStride: pixels)
                    }
                }
            }
            initialized = maps.count * size
        }
        return Tensor(shape: [maps.count, c, first.height, first.width], data: data)
    }

    /// Channel concatenation, a row of pixels per task, each pixel copied in two runs.
    public func concatChannels(_ a: FeatureMap, _ b: FeatureMap) -> FeatureMap {
        precondition(a.height == b.height && a.width == b.width, "concat: spatial sizes differ")
        let (ca, cb, c) = (a.channels, b.channels, a.channels + b.channels)
        var out = FeatureMap(uninitializedHeight: a.height, width: a.width, channels: c)
        let w = a.width
        out.data.withUnsafeMutableBufferPointer { op in
            a.data.withUnsafeBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    let dst = UncheckedSendableBox(op.baseAddress!)
                    let (pa, pb) = (UncheckedSendableBox(ap.baseAddress!), UncheckedSendableBox(bp.baseAddress!))
                    parallel(a.height, minimumChunk: 8) { rows in
                        for y in rows {
                            for p in (y * w)..<((y + 1) * w) {
                                (dst.value + p * c).update(from: pa.value + p * ca, count: ca)
                                (dst.value + p * c + ca).update(from: pb.value + p * cb, count: cb)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    public func roll(_ x: FeatureMap, by shift: Int) -> FeatureMap {
        let (h, w, c) = (x.height, x.width, x.channels)
        let sy = ((shift % h) + h) % h, sx = ((shift % w) + w) % w
        if sy == 0 && sx == 0 { return x }
        var out = FeatureMap(uninitializedHeight: h, width: w, channels: c)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                let (dst, src) = (UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(xp.baseAddress!))
                parallel(h, minimumChunk: 8) { rows in
                    for y in rows {
                        // Output row y reads input row y - shift; columns wrap in two runs.
                        let s = src.value + ((y - sy + h) % h) * w * c
                        let d = dst.value + y * w * c
                        (d + sx * c).update(from: s, count: (w - sx) * c)
                        d.update(from: s + (w - sx) * c, count: sx * c)
                    }
                }
            }
        }
        return out
    }

    public func resizeBilinear(_ x: FeatureMap, height: Int, width: Int) -> FeatureMap {
        var out = FeatureMap(uninitializedHeight: height, width: width, channels: x.channels)
        let c = x.channels
        let sh = Float(x.height) / Float(height)
        let sw = Float(x.width) / Float(width)
        let (inH, inW) = (x.height, x.width)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                let (dst, src) = (UncheckedSendableBox(op.baseAddress!), UncheckedSendableBox(xp.baseAddress!))
                parallel(height, minimumChunk: 8) { rows in
                    let (o, s) = (dst.value, src.value)
                    for y in rows {
                        let fy = max((Float(y) + 0.5) * sh - 0.5, 0)
                        let y0 = min(Int(fy), inH - 1)
                        let y1 = min(y0 + 1, inH - 1)
                        let ly = fy - Float(y0)
                        for xx in 0..<width {
                            let fx = max((Float(xx) + 0.5) * sw - 0.5, 0)
                            let x0 = min(Int(fx), inW - 1)
                            let x1 = min(x0 + 1, inW - 1)
                            let lx = fx - Float(x0)
                            for i in 0..<c {
                                let a = s[(y0 * inW + x0) * c + i], b = s[(y0 * inW + x1) * c + i]
                                let d = s[(y1 * inW + x0) * c + i], e = s[(y1 * inW + x1) * c + i]
                                o[(y * width + xx) * c + i] =
                                    (1 - ly) * ((1 - lx) * a + lx * b) + ly * ((1 - lx) * d + lx * e)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

#if os(Linux)
    /// glibc's `int mallopt(int param, int value)`.
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Carries a non-Sendable closure into `concurrentPerform`.
// Invariant for @unchecked Sendable: `concurrentPerform` returns only after every iteration
// finished, so the closure never outlives the call, and callers give each iteration a
// disjoint range of the output to write.
struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Hands out piece numbers 0, 1, 2, ... to the workers of `CPUBackend.parallel`.
private final class PieceCounter: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0

    /// The next piece number, or nil once `limit` have been handed out.
    func take(below limit: Int) -> Int? {
        lock.withLock {
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}
