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
                "method; spkdeblurnet needs weights"),
            ParameterSpec("weights", .path, optional: true, "checkpoint (.pth or .safetensors) for spkdeblurnet"),
            ParameterSpec("config", .path, optional: true, "model config JSON (reference constructor keywords)"),
            ParameterSpec("threads", .int(1...1024), optional: true, "CPU threads (default: all cores)"),
            ParameterSpec(
                "precision", .choice(["fp32", "bf16"]), default: .string("fp32"),
                "GEMM arithmetic of spkdeblurnet; bf16 needs avx512_bf16 (about 1.4x faster, errors ~1e-2)"),
        ],
        inputs: [PortSpec("fused", Ports.fused)], outputs: [PortSpec("frames", Ports.deblurred)],
        make: { p, env in
            let method = try makeMethod(p, stage: env.stageName)
            var info = ModelInfo(name: method.name)
            if let network = method as? NetworkDeblurrer, let weights = p.string("weights") {
                info.configJSON = network.model.config.jsonString()
                info.weightsSHA256 = (try? StateDict.sha256(of: URL(fileURLWithPath: weights))) ?? ""
            }
            return DeblurStage(method: method, info: info)
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

    static func makeMethod(_ p: Parameters, stage: String) throws -> any Deblurrer {
        switch p.string("model") ?? "spkdeblurnet" {
        case "classical": return ClassicalDeblurrer()
        case "passthrough": return PassthroughDeblurrer()
        default:
            guard let weights = p.string("weights") else {
                throw StageError("stage '\(stage)': model spkdeblurnet needs 'weights' (or use model: classical)")
            }
            var config: SpkDeblurNetConfig?
            if let path = p.string("config") {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw StageError("\(path): cannot read")
                }
                config = try SpkDeblurNetConfig.decode(json: data, source: path)
            }
            let model = try SpkDeblurNet.load(weights: URL(fileURLWithPath: weights), config: config)
            let precision = Precision(rawValue: p.string("precision") ?? "fp32") ?? .fp32
            let backend: CPUBackend
            do { backend = try CPUBackend(threads: p.int("threads"), precision: precision) } catch {
                throw StageError("stage '\(stage)': \(error)")
            }
            return NetworkDeblurrer(model: model, backend: backend)
        }
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
                return try method.deblur(DeblurInput(blur: blur, spikes: item.window.spikes))
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
