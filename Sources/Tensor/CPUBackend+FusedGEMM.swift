internal import CKernels
internal import COpenBLAS
import Foundation

/// The right-hand operand of a fused GEMM: fp32 for OpenBLAS, or weights packed for the fp32
/// or bf16 kernel of CKernels.
enum GEMMOperand {
    /// `[k, n]` row-major with leading dimension `ldb`, or `[n, k]` when `transposed`.
    case fp32(UnsafePointer<Float>, ldb: Int, transposed: Bool)
    /// Packed by `ck_f32_pack_b`.
    case f32Packed(UnsafePointer<Float>)
    /// Packed by `ck_bf16_pack_b`.
    case bf16(UnsafePointer<UInt16>)
}

extension CPUBackend {
    /// `C[m, n] = A[m, k] * B + bias (+ C when accumulate)`, then GELU when `gelu`.
    ///
    /// Rows are split over the workers, and each worker goes through its rows in chunks of
    /// about 512 KiB of output, so the bias, the accumulation and the GELU touch the chunk
    /// while it is still in L2 instead of in separate passes over the whole output.
    func fusedGEMM(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: GEMMOperand,
        c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, accumulate: Bool, gelu: Bool
    ) {
        guard m > 0, n > 0 else { return }
        let workers = max(1, min(threads, m / 64, (m * n * k) / (1 << 18)))
        let rows = (m + workers - 1) / workers
        let args = UncheckedSendableBox((a, b, c, bias))
        parallel(workers) { range in
            let (a, b, c, bias) = args.value
            for wi in range {
                let lo = wi * rows
                let count = min(m, lo + rows) - lo
                guard count > 0 else { continue }
                serialGEMM(
                    m: count, n: n, k: k, a: a + lo * lda, lda: lda, b: b, c: c + lo * ldc, ldc: ldc, bias: bias,
                    accumulate: accumulate, gelu: gelu)
            }
        }
    }

    /// ``fusedGEMM(m:n:k:a:lda:b:c:ldc:bias:accumulate:gelu:)`` on the calling thread.
    func serialGEMM(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: GEMMOperand,
        c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, accumulate: Bool, gelu: Bool
    ) {
        let chunk = max(64, (1 << 17) / max(n, 1)) / 8 * 8
        var lo = 0
        while lo < m {
            let hi = min(m, lo + chunk)
            let (ap, cp, count) = (a + lo * lda, c + lo * ldc, hi - lo)
            switch b {
            case .bf16(let packed):
                ck_gemm_bf16(
                    Int32(count), Int32(n), Int32(k), ap, Int32(lda), packed, cp, Int32(ldc), bias, accumulate ? 1 : 0)
            case .f32Packed(let packed):
                guard let kernels else { preconditionFailure("serialGEMM: a packed fp32 operand without kernels") }
                kernels.gemm(
                    Int32(count), Int32(n), Int32(k), ap, Int32(lda), packed, cp, Int32(ldc), bias, accumulate ? 1 : 0)
            case .fp32(let bp, let ldb, let transposed):
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, Int32(count), Int32(n),
                    Int32(k), 1, ap, Int32(lda), bp, Int32(ldb), accumulate ? 1 : 0, cp, Int32(ldc))
                // The bias is added to the chunk while it is in cache.
                if let bias { Self.addRowVector(bias, to: cp, rows: count, columns: n, stride: ldc) }
            }
            if gelu {
                for r in 0..<(ldc == n ? 1 : count) {
                    let span = ldc == n ? count * n : n
                    if let kernels {
                        kernels.gelu(cp + r * ldc, span)
                    } else {
                        Self.geluPortable(cp + r * ldc, span)
                    }
                }
            }
            lo = hi
        }
    }

    /// `c[r, j] += v[j]` for `rows` rows of `columns` values `stride` apart.
    static func addRowVector(
        _ v: UnsafePointer<Float>, to c: UnsafeMutablePointer<Float>, rows: Int, columns n: Int, stride: Int
    ) {
        typealias V = SIMD16<Float>
        let vectors = n / 16
        let vr = UnsafeRawPointer(v)
        for r in 0..<rows {
            let row = c + r * stride
            let raw = UnsafeMutableRawPointer(row)
            for i in 0..<vectors {
                let sum =
                    raw.loadUnaligned(fromByteOffset: i * 64, as: V.self)
                    + vr.loadUnaligned(fromByteOffset: i * 64, as: V.self)
                raw.storeBytes(of: sum, toByteOffset: i * 64, as: V.self)
            }
            for j in (vectors * 16)..<n { row[j] += v[j] }
        }
    }

    /// GELU without AVX-512 (16 lanes at a time, then the scalar tail).
    static func geluPortable(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
        let raw = UnsafeMutableRawPointer(x)
        let vectors = count / 16
        for i in 0..<vectors {
            let v = raw.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            raw.storeBytes(of: SIMDMath.gelu(v), toByteOffset: i * 64, as: SIMD16<Float>.self)
        }
        for i in (vectors * 16)..<count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752440))
        }
    }

    public func linear(_ x: FeatureMap, _ w: LinearWeights, addingTo y: inout FeatureMap) {
        makeUnique(&y)
        precondition(
            x.channels == w.inFeatures, "linear: input has \(x.channels) features, weights expect \(w.inFeatures)")
        precondition(
            y.pixelCount == x.pixelCount && y.channels == w.outFeatures, "linear: accumulator shape differs")
        linear(rows: x.pixelCount, x.data, w, into: &y.data, accumulate: true)
    }

    public func linearGELU(_ x: FeatureMap, _ w: LinearWeights) -> FeatureMap {
        precondition(
            x.channels == w.inFeatures, "linear: input has \(x.channels) features, weights expect \(w.inFeatures)")
        var out = FeatureMap(uninitializedHeight: x.height, width: x.width, channels: w.outFeatures)
        linear(rows: x.pixelCount, x.data, w, into: &out.data, gelu: true)
        return out
    }

    public func conv2d(_ x: FeatureMap, _ w: ConvWeights, addingTo y: inout FeatureMap) {
        guard w.groups == 1 else {
            add(&y, conv2d(x, w))
            return
        }
        let (ho, wo) = w.outputSize(height: x.height, width: x.width)
        precondition(
            y.height == ho && y.width == wo && y.channels == w.outChannels, "conv2d: accumulator shape differs")
        makeUnique(&y)
        convGEMM(x, w, &y, accumulate: true)
    }
}
