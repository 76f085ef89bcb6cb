internal import CKernels
import Foundation

/// The arithmetic the CPU backend uses for its GEMMs (linears and convolutions).
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// float32 everywhere: the AVX-512 GEMM of CKernels for layer weights (OpenBLAS `sgemm`
    /// on CPUs without AVX-512, and for products of two activations).
    case fp32
    /// GEMM operands rounded to bfloat16 (weights once, activations per GEMM), products
    /// summed in float32 with AVX-512 BF16 `vdpbf16ps`. Everything else stays float32.
    case bf16

    public var description: String { rawValue }

    /// Whether this CPU can run `precision` (bf16 needs AVX512_BF16 and AVX-512 state enabled).
    public var isSupported: Bool {
        switch self {
        case .fp32: true
        case .bf16: Self.cpuHasBF16
        }
    }

    static let cpuHasBF16: Bool = ck_has_avx512bf16() != 0
    static let cpuHasAVX512: Bool = ck_has_avx512f() != 0
}

/// Why a ``CPUBackend`` could not be created.
public enum CPUBackendError: Error, Equatable, CustomStringConvertible {
    /// The CPU lacks the instructions the precision needs.
    case unsupportedPrecision(Precision, reason: String)

    public var description: String {
        switch self {
        case .unsupportedPrecision(let p, let reason): "precision \(p) is not available on this CPU: \(reason)"
        }
    }
}

/// A GEMM right-hand operand packed for a CKernels GEMM the first time a path uses it, then
/// kept for the life of the weights (shared by every copy of the weights struct).
// Invariant for @unchecked Sendable: `packed` is written once, under `lock`, and only read
// after that.
final class PackedOperand<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var packed: [Element]?

    /// The packed operand, made by `pack` on first use.
    func get(_ pack: () -> [Element]) -> [Element] {
        lock.lock()
        defer { lock.unlock() }
        if let packed { return packed }
        let out = pack()
        packed = out
        return out
    }
}

/// Packing of GEMM right-hand operands for the CKernels GEMMs.
enum GEMMPacking {
    /// `b` (`[k, n]`, or `[n, k]` when `transposed`) packed for `ck_gemm_bf16`.
    static func bf16(_ b: [Float], k: Int, n: Int, transposed: Bool) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: ck_bf16_packed_count(Int32(k), Int32(n)))
        b.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                ck_bf16_pack_b(bp.baseAddress!, Int32(k), Int32(n), transposed ? 1 : 0, op.baseAddress!)
            }
        }
        return out
    }

    /// `b` (`[k, n]`, or `[n, k]` when `transposed`) packed for `ck_gemm_f32`.
    static func f32(_ b: [Float], k: Int, n: Int, transposed: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: ck_f32_packed_count(Int32(k), Int32(n)))
        b.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                ck_f32_pack_b(bp.baseAddress!, Int32(k), Int32(n), transposed ? 1 : 0, op.baseAddress!)
            }
        }
        return out
    }
}
