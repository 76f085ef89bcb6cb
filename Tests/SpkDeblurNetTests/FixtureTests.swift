import Checkpoint
import Foundation
import Tensor
import Testing

@testable import SpkDeblurNet

func fixtureURL(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
}

func tinyConfig() throws -> SpkDeblurNetConfig {
    try SpkDeblurNetConfig.decode(json: Data(contentsOf: fixtureURL("tiny.json")), source: "tiny.json")
}

func tensor(_ dict: StateDict, _ key: String) throws -> Tensor {
    let t = try #require(dict.tensors[key], "fixture lacks \(key)")
    return Tensor(shape: t.shape, data: try t.floats())
}

/// Runs `model` on the inputs of `io` and returns the max abs error of sharp, spike_recon
/// and quick_sharp against the outputs stored there.
func referenceErrors(_ model: SpkDeblurNet, _ io: StateDict, backend: CPUBackend) throws -> [Float] {
    let out = try model(blur: tensor(io, "blur"), spike: tensor(io, "spike"), tfi: tensor(io, "tfi"), backend: backend)
    return [
        out.sharp.maxAbsDifference(try tensor(io, "sharp")),
        out.spikeRecon.maxAbsDifference(try tensor(io, "spike_recon")),
        out.quickSharp.maxAbsDifference(try tensor(io, "quick_sharp")),
    ]
}

@Suite struct ReferenceFixtureTests {
    @Test(arguments: ["tiny.weights.safetensors", "tiny.pth"])
    func outputsMatchReference(weights: String) throws {
        let config = try tinyConfig()
        #expect(config.D_embed_dim == 24 && config.S_in_chs == 8 && config.D_anchor_num_layers == 2)
        let model = try SpkDeblurNet.load(weights: fixtureURL(weights), config: config)
        let io = try SafeTensors.read(contentsOf: fixtureURL("tiny.io.safetensors"))
        let errors = try referenceErrors(model, io, backend: CPUBackend(threads: 2))
        print(
            "tiny fixture (\(weights)) max abs errors: sharp \(errors[0]), spike_recon \(errors[1]), quick_sharp \(errors[2])"
        )
        #expect(errors.allSatisfy { $0 <= 1e-5 }, "\(errors)")
    }

    @Test func configInferredFromShapesMatchesFixture() throws {
        let dict = try StateDict.load(contentsOf: fixtureURL("tiny.pth"))
        var base = SpkDeblurNetConfig.published
        base.D_anchor_num_layers = 2
        base.S_anchor_num_layers = 2
        let inferred = SpkDeblurNetConfig.inferred(from: dict, base: base)
        #expect(inferred == (try tinyConfig()))
    }

    @Test func mismatchedWeightsListEveryProblem() throws {
        var dict = try StateDict.load(contentsOf: fixtureURL("tiny.weights.safetensors"))
        dict.tensors.removeValue(forKey: "cammm.conv2.weight")
        dict.tensors.removeValue(forKey: "D_layers.0.residual_group.blocks.0.mlp.fc1.bias")
        dict.tensors["extra.thing"] = StoredTensor(floats: [1], shape: [1])
        dict.tensors["S_conv_after_body.bias"] = StoredTensor(floats: [1, 2], shape: [2])
        let error = #expect(throws: SpkDeblurNetError.self) {
            try SpkDeblurNet(config: try tinyConfig(), weights: dict, source: "broken.safetensors")
        }
        let text = try #require(error?.description)
        #expect(text.hasPrefix("broken.safetensors: weights do not match"))
        #expect(text.contains("missing keys (2): D_layers.0.residual_group.blocks.0.mlp.fc1.bias, cammm.conv2.weight"))
        #expect(text.contains("unexpected keys (1): extra.thing"))
        #expect(text.contains("S_conv_after_body.bias is [2], expected [12]"))
        #expect(!text.contains("\n"))
    }

    @Test func wrongInputShapesAreNamed() throws {
        let model = try SpkDeblurNet.load(weights: fixtureURL("tiny.weights.safetensors"), config: try tinyConfig())
        let error = #expect(throws: SpkDeblurNetError.self) {
            try model(
                blur: Tensor(zeros: [1, 3, 72, 104]), spike: Tensor(zeros: [1, 7, 36, 52]),
                tfi: Tensor(zeros: [1, 1, 36, 52]))
        }
        #expect(error?.description.hasPrefix("model input 'spike'") == true)
    }

    @Test func unknownConfigKeywordIsRejected() {
        let error = #expect(throws: SpkDeblurNetError.self) {
            try SpkDeblurNetConfig.decode(json: Data(#"{"D_embed_dim": 24, "D_embd": 3}"#.utf8), source: "c.json")
        }
        #expect(error?.description == "model config 'D_embd': unknown SpkDeblurNet keyword in c.json")
    }
}
