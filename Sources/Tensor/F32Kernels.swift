internal import CKernels
import Foundation

/// The fp32 SIMD kernels of CKernels for one instruction set: the AVX-512 build, or the same
/// kernels compiled for AVX2 and FMA (each 16-lane vector in two 256-bit registers, smaller
/// tiles), for the many CPUs without AVX-512. Both builds take the same arguments and give
/// the same results; a ``CPUBackend`` holds the set it calls, or none for the portable Swift
/// loops.
struct F32Kernels: @unchecked Sendable {  // C function pointers: immutable, callable from any thread
    enum InstructionSet: String, Sendable {
        case avx512 = "AVX-512"
        case avx2 = "AVX2+FMA"
    }

    let instructionSet: InstructionSet
    let gemm:
        @convention(c) (
            Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
            Int32, UnsafePointer<Float>?, Int32
        ) -> Void
    let windowAttention:
        @convention(c) (
            UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32, Int32, Int32, Int32, Int32,
            UnsafePointer<Float>?, Float, Int32, Int32
        ) -> Int32
    let windowAttentionBlock:
        @convention(c) (
            UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32, Int32, UnsafePointer<Float>?,
            UnsafePointer<Float>?, Float
        ) -> Int32
    let gelu: @convention(c) (UnsafeMutablePointer<Float>?, Int) -> Void
    let sigmoid: @convention(c) (UnsafeMutablePointer<Float>?, Int) -> Void
    let layerNorm:
        @convention(c) (
            UnsafePointer<Float>?, UnsafePointer<Int32>?, Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?,
            Float, UnsafeMutablePointer<Float>?
        ) -> Int32
    let dotRows:
        @convention(c) (
            Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?,
            UnsafeMutablePointer<Float>?, Int32, Int32
        ) -> Void
    let transpose: @convention(c) (UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?, Int, Int, Int) -> Void
    let depthwiseConv:
        @convention(c) (
            UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32, Int32, Int32, Int32, Int32, Int32,
            UnsafePointer<Float>?, UnsafePointer<Float>?, Int32, Int32, Int32
        ) -> Void
    let conv:
        @convention(c) (
            UnsafePointer<Float>?, Int32, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Int32, Int32
        ) -> Int32
    let winograd:
        @convention(c) (
            UnsafePointer<Float>?, Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafeMutablePointer<Float>?,
            UnsafePointer<Float>?, Int32, Int32, Int32
        ) -> Int32

    static let avx512 = F32Kernels(
        instructionSet: .avx512, gemm: ck_gemm_f32, windowAttention: ck_window_attention_f32,
        windowAttentionBlock: ck_window_attention_block_f32, gelu: ck_gelu_f32, sigmoid: ck_sigmoid_f32,
        layerNorm: ck_layer_norm_f32, dotRows: ck_dot_rows_f32, transpose: ck_transpose_f32,
        depthwiseConv: ck_depthwise_conv_f32, conv: ck_conv_f32, winograd: ck_winograd_f32)

    static let avx2 = F32Kernels(
        instructionSet: .avx2, gemm: ck_gemm_f32_avx2, windowAttention: ck_window_attention_f32_avx2,
        windowAttentionBlock: ck_window_attention_block_f32_avx2, gelu: ck_gelu_f32_avx2,
        sigmoid: ck_sigmoid_f32_avx2, layerNorm: ck_layer_norm_f32_avx2, dotRows: ck_dot_rows_f32_avx2,
        transpose: ck_transpose_f32_avx2, depthwiseConv: ck_depthwise_conv_f32_avx2, conv: ck_conv_f32_avx2,
        winograd: ck_winograd_f32_avx2)

    /// Whether this CPU and OS support AVX2 and FMA.
    static let cpuHasAVX2FMA: Bool = ck_has_avx2_fma() != 0

    /// The widest set this CPU runs: AVX-512, else AVX2 and FMA, else none; or, for
    /// comparisons, a narrower one that `SPKDEBLUR_KERNELS` names: "avx2" (where the CPU runs
    /// it) or "portable". Any other value is reported on standard error, once, and ignored.
    static let native: F32Kernels? = {
        guard let value = ProcessInfo.processInfo.environment["SPKDEBLUR_KERNELS"] else { return available.first }
        switch value.lowercased() {
        case "portable": return nil
        case "avx2" where cpuHasAVX2FMA: return avx2
        case "avx512" where Precision.cpuHasAVX512: return avx512
        default:
            let widest = available.first?.instructionSet.rawValue ?? "portable"
            FileHandle.standardError.write(
                Data(
                    "spkdeblur: SPKDEBLUR_KERNELS=\(value): not avx512, avx2 or portable on this CPU; using \(widest)\n"
                        .utf8))
            return available.first
        }
    }()

    /// Every set this CPU runs, widest first (an AVX-512 CPU runs the AVX2 build too).
    static let available: [F32Kernels] = (Precision.cpuHasAVX512 ? [avx512] : []) + (cpuHasAVX2FMA ? [avx2] : [])

    /// The names of ``available``, then "portable" (no kernels): what tests run each path on.
    static var choices: [String] { available.map(\.instructionSet.rawValue) + ["portable"] }

    /// The available set of that name; nil for "portable" (or a set this CPU lacks).
    static func named(_ name: String) -> F32Kernels? { available.first { $0.instructionSet.rawValue == name } }
}

/// When fp32 3x3 convolutions (stride 1, padding 1) take Winograd's F(2x2, 3x3)
/// (`ck_winograd_f32`): 2.25x fewer multiply-adds, the same sums to fp32 rounding.
enum WinogradUse: String, Sendable {
    /// In the AVX2 build, for 16 channels and more in and out, except small maps to a
    /// partial vector of outputs (24 -> 24, 32 -> 24): the shapes where it was measured
    /// faster than the direct kernel, 1.1-2.4x on one core (docs/performance.md). The
    /// AVX-512 build keeps the direct kernel until it is measured on such a CPU.
    case auto
    /// In every build, for every channel count (tests, and measurements).
    case always
    /// Never.
    case off

    /// `auto`, or what `SPKDEBLUR_WINOGRAD` names ("always", "off"); any other value is
    /// reported on standard error, once, and ignored.
    static let native: WinogradUse = {
        guard let value = ProcessInfo.processInfo.environment["SPKDEBLUR_WINOGRAD"] else { return .auto }
        if let use = WinogradUse(rawValue: value.lowercased()) { return use }
        FileHandle.standardError.write(
            Data("spkdeblur: SPKDEBLUR_WINOGRAD=\(value): not auto, always or off; using auto\n".utf8))
        return .auto
    }()

    /// Whether a `cin -> cout` 3x3 convolution on `kernels` takes it.
    func applies(to kernels: F32Kernels, _ cin: Int, _ cout: Int) -> Bool {
        switch self {
        case .auto:
            kernels.instructionSet == .avx2 && cin >= 16 && cout >= 16 && (cout % 16 == 0 || cin + cout > 56)
        case .always: true
        case .off: false
        }
    }
}
