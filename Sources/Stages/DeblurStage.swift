import Checkpoint
import Deblur
import Foundation
import Pipeline
import SpkDeblurNet
import Tensor

/// `deblur` (and `passthrough`): runs a deblur method on each fused exposure.
struct DeblurStage: Stage {
    let method: any Deblurrer
    var delay: Duration = .zero
    var info: ModelInfo

    static let kind = StageKind(
        name: "deblur", summary: "deblurs each fused exposure (SpkDeblurNet, the classical baseline, or passthrough)",
        parameters: [
            ParameterSpec(
                "model", .choice(["spkdeblurnet", "classical", "passthrough"]), default: .string("spkdeblurnet"),
                "method; spkdeblurnet runs the embedded default model unless weights are given"),
            ParameterSpec(
                "weights", .path, optional: true,
                "checkpoint (.pth or .safetensors, relative to this file), or embedded:NAME (default: the embedded model)"
            ),
            ParameterSpec("config", .path, optional: true, "model config JSON (reference constructor keywords)"),
            ParameterSpec("threads", .int(1...1024), optional: true, "CPU threads (default: all cores)"),
            ParameterSpec(
                "precision", .choice(["fp32", "bf16"]), default: .string("fp32"),
                "GEMM arithmetic of spkdeblurnet; bf16 needs avx512_bf16 (about 1.4x faster, errors ~1e-2)"),
        ],
        inputs: [PortSpec("fused", Ports.fused)], outputs: [PortSpec("frames", Ports.deblurred)],
        make: { p, env in
            let resolved = try resolve(p, stage: env.stageName)
            let id = resolved.identity
            return DeblurStage(
                method: resolved.deblurrer,
                info: ModelInfo(name: id.name, configJSON: id.configJSON, weightsSHA256: id.weightsSHA256))
        })

    static let passthroughKind = StageKind(
        name: "passthrough", summary: "returns the RGB frame unchanged (testing, overhead measurement)",
        parameters: [
            ParameterSpec(
                "delay_ms", .double(0...60_000), default: .double(0),
                "time each frame takes, to stand in for a slow model when testing drop policies")
        ],
        inputs: [PortSpec("fused", Ports.fused)], outputs: [PortSpec("frames", Ports.deblurred)],
        make: { p, _ in
            DeblurStage(
                method: PassthroughDeblurrer(), delay: .milliseconds(Int64(p.double("delay_ms") ?? 0)),
                info: ModelInfo(name: "passthrough"))
        })

    /// The stage's model through the one factory; without `weights` the embedded default.
    static func resolve(_ p: Parameters, stage: String) throws -> ResolvedModel {
        let choice = ModelChoice(
            kind: ModelChoice.Kind(rawValue: p.string("model") ?? "spkdeblurnet") ?? .spkdeblurnet,
            weights: p.string("weights"), config: p.string("config"), threads: p.int("threads"),
            precision: Precision(rawValue: p.string("precision") ?? "fp32") ?? .fp32)
        do { return try DeblurrerFactory.make(choice) } catch { throw StageError("stage '\(stage)': \(error)") }
    }

    func run(_ context: StageContext) async throws {
        while let item = try await context.receive("fused", as: FusedExposure.self) {
            if let t = method.windowLength, item.window.spikes.count != t {
                throw StageError(
                    "deblur: windows have \(item.window.spikes.count) spike frames, the model takes \(t); set the exposure-window 'frames' to \(t)"
                )
            }
            let blur = item.rgb.image.featureMap
            let result = try await context.busy {
                if delay > .zero { try await context.clock.sleep(until: context.clock.now() + delay) }
                return try method.deblur(DeblurInput(blur: blur, spikes: item.window.spikes, tfi: item.window.tfi))
            }
            await context.send(
                "frames",
                DeblurredFrame(
                    frameID: item.rgb.id, sharp: result.sharp, spikeRecon: result.spikeRecon,
                    quickSharp: result.quickSharp,
                    blur: blur, centerIndex: item.window.centerIndex, exposureStart: item.rgb.exposureStart,
                    exposureEnd: item.rgb.exposureEnd, ingestedAt: item.ingestedAt, model: info))
        }
    }
}
