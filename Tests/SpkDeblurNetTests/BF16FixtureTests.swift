import Checkpoint
import Foundation
import Tensor
import Testing

@testable import SpkDeblurNet

/// The bf16 GEMM mode on the reference fixtures: its error against the fp32 path (and the
/// reference) is bf16 rounding, far larger than fp32's ~1e-6 but bounded.
@Suite(.enabled(if: Precision.bf16.isSupported, "this CPU lacks AVX512_BF16"))
struct BF16FixtureTests {
    @Test func bf16OutputsStayCloseToFP32() throws {
        let model = try SpkDeblurNet.load(weights: fixtureURL("tiny.weights.safetensors"), config: try tinyConfig())
        let io = try SafeTensors.read(contentsOf: fixtureURL("tiny.io.safetensors"))
        let (blur, spike, tfi) = (try tensor(io, "blur"), try tensor(io, "spike"), try tensor(io, "tfi"))
        let fp32 = try model(blur: blur, spike: spike, tfi: tfi, backend: CPUBackend(threads: 2))
        let bf16 = try model(blur: blur, spike: spike, tfi: tfi, backend: CPUBackend(threads: 2, precision: .bf16))
        let vsFP32 = [
            bf16.sharp.maxAbsDifference(fp32.sharp), bf16.spikeRecon.maxAbsDifference(fp32.spikeRecon),
            bf16.quickSharp.maxAbsDifference(fp32.quickSharp),
        ]
        let vsReference = [
            bf16.sharp.maxAbsDifference(try tensor(io, "sharp")),
            bf16.spikeRecon.maxAbsDifference(try tensor(io, "spike_recon")),
            bf16.quickSharp.maxAbsDifference(try tensor(io, "quick_sharp")),
        ]
        print("tiny fixture bf16 max abs error vs fp32 (sharp, spike_recon, quick_sharp): \(vsFP32)")
        print("tiny fixture bf16 max abs error vs reference: \(vsReference)")
        // Outputs are O(1) images; bf16 keeps 8 significant bits through ~25 GEMM layers.
        #expect(vsFP32.allSatisfy { $0 > 0 && $0 <= 0.05 })
        #expect(vsReference.allSatisfy { $0 <= 0.05 })
    }
}
