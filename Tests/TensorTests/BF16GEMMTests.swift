import Foundation
import Testing

@testable import Tensor

// The bf16 GEMM (AVX-512 BF16 kernel of CKernels) against naive double-precision sums: exact
// up to fp32 summation error when fed the same bf16-rounded operands, and within bf16's
// rounding (8 significant bits) of the fp32 result.

/// Round to nearest even bf16, back to Float (what the kernel multiplies).
private func bf16(_ x: Float) -> Float {
    let u = x.bitPattern
    return Float(bitPattern: ((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16) << 16)
}

@Suite(.enabled(if: Precision.bf16.isSupported, "this CPU lacks AVX512_BF16"))
struct BF16GEMMTests {
    // Shapes with every tail: rows not a multiple of the 8-row tile, odd inner sizes, column
    // counts that leave 16-, 32- and 48-wide last panels, and the model's largest inner size.
    @Test(arguments: [
        (1, 1, 1), (37, 45, 53), (8, 180, 540), (70, 181, 180), (65, 60, 48), (19, 1620, 180), (200, 360, 20),
    ])
    func linearMatchesNaive(m: Int, k: Int, n: Int) throws {
        let backend = try CPUBackend(threads: 2, precision: .bf16)
        let x = values(m * k, seed: 1), weight = values(n * k, seed: 2), bias = values(n, seed: 3)
        let layer = LinearWeights(outFeatures: n, inFeatures: k, weight: weight, bias: bias)
        let y = backend.linear(FeatureMap(height: 1, width: m, channels: k, data: x), layer)
        var worstRounded = 0.0, worstExact = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var rounded = Double(bias[j]), exact = Double(bias[j]), magnitude = 0.0
                for t in 0..<k {
                    let (a, b) = (x[i * k + t], weight[j * k + t])
                    rounded += Double(bf16(a)) * Double(bf16(b))
                    exact += Double(a) * Double(b)
                    magnitude += abs(Double(a) * Double(b))
                }
                let got = Double(y.data[i * n + j])
                // fp32 accumulation of k terms; bf16 operands off by up to 2^-9 relative each.
                worstRounded = max(worstRounded, abs(got - rounded) / (magnitude + 1))
                worstExact = max(worstExact, abs(got - exact) / (magnitude + 1))
            }
        }
        #expect(worstRounded < 1e-6, "vs bf16-rounded operands: \(worstRounded)")
        #expect(worstExact < 4e-3, "vs fp32 operands: \(worstExact)")
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0)])
    func convMatchesFP32WithinBF16Rounding(kernel: Int, stride: Int, padding: Int) throws {
        let (cin, cout, h, w) = (21, 50, 11, 9)
        let x = FeatureMap(height: h, width: w, channels: cin, data: values(h * w * cin, seed: 4))
        let conv = ConvWeights(
            outChannels: cout, inChannels: cin, kernel: kernel, stride: stride, padding: padding,
            weight: values(cout * cin * kernel * kernel, seed: 5), bias: values(cout, seed: 6))
        let reference = CPUBackend(threads: 2).conv2d(x, conv)
        let got = try CPUBackend(threads: 2, precision: .bf16).conv2d(x, conv)
        #expect(got.height == reference.height && got.width == reference.width && got.channels == cout)
        let worst = zip(got.data, reference.data).map { abs($0 - $1) }.max() ?? 0
        // |sum| of up to 189 products of values in [-1, 1]: bf16 rounding error ~ sqrt(189) * 2^-9.
        #expect(worst > 0 && worst < 0.05, "max abs difference \(worst)")
    }

    @Test func packedWeightsAreReusedAcrossCopies() throws {
        let layer = LinearWeights(outFeatures: 20, inFeatures: 10, weight: values(200, seed: 7), bias: nil)
        let copy = layer
        #expect(layer.bf16Weight == copy.bf16Weight)
        #expect(layer.bf16 === copy.bf16)
    }
}

@Suite struct PrecisionTests {
    @Test func fp32IsAlwaysAvailableAndTheDefault() throws {
        #expect(Precision.fp32.isSupported)
        #expect(CPUBackend(threads: 1).precision == .fp32)
        #expect(try CPUBackend(threads: 1, precision: .fp32).precision == .fp32)
    }

    @Test func bf16IsRefusedWithAClearErrorWhereUnsupported() {
        if Precision.bf16.isSupported {
            #expect((try? CPUBackend(threads: 1, precision: .bf16))?.precision == .bf16)
        } else {
            let error = #expect(throws: CPUBackendError.self) { try CPUBackend(threads: 1, precision: .bf16) }
            #expect(error?.description.contains("AVX512_BF16") == true)
        }
        let text = CPUBackendError.unsupportedPrecision(.bf16, reason: "no AVX512_BF16").description
        #expect(text == "precision bf16 is not available on this CPU: no AVX512_BF16")
    }
}
