import Checkpoint
import Foundation
import Testing

@testable import SpkDeblurNet
@testable import Tensor

/// The constructor variants the published checkpoints do not use, against outputs of the
/// reference model (Fixtures/README.md): `conv` (use_conv: 3x3 qkv/proj convolutions and a
/// depthwise convolution in the MLP) and `ms` (multi-scale residual groups, without MLPs).
@Suite struct VariantFixtureTests {
    static let variants = ["conv", "ms"]

    func config(_ name: String) throws -> SpkDeblurNetConfig {
        try SpkDeblurNetConfig.decode(json: Data(contentsOf: fixtureURL("\(name).json")), source: "\(name).json")
    }

    @Test(arguments: variants)
    func outputsMatchReference(variant: String) throws {
        let config = try config(variant)
        #expect(config.use_conv == (variant == "conv") && config.ms == (variant == "ms"))
        let model = try SpkDeblurNet.load(weights: fixtureURL("\(variant).weights.safetensors"), config: config)
        let io = try SafeTensors.read(contentsOf: fixtureURL("\(variant).io.safetensors"))
        let errors = try referenceErrors(model, io, backend: CPUBackend(threads: 2))
        print("\(variant) fixture max abs errors (sharp, spike_recon, quick_sharp): \(errors)")
        #expect(errors.allSatisfy { $0 <= 1e-5 })
    }

    /// Each kernel build this CPU runs (an AVX-512 CPU runs the AVX2 one too), and the
    /// portable path (OpenBLAS, Swift attention and GELU), as on CPUs without AVX2.
    @Test(arguments: ["tiny", "conv", "ms"], F32Kernels.choices)
    func everyKernelPathMatchesReference(fixture: String, kernels: String) throws {
        let config = try SpkDeblurNetConfig.decode(
            json: Data(contentsOf: fixtureURL("\(fixture).json")), source: "\(fixture).json")
        let model = try SpkDeblurNet.load(weights: fixtureURL("\(fixture).weights.safetensors"), config: config)
        var backend = CPUBackend(threads: 2)
        backend.kernels = F32Kernels.named(kernels)
        let errors = try referenceErrors(
            model, try SafeTensors.read(contentsOf: fixtureURL("\(fixture).io.safetensors")), backend: backend)
        #expect(errors.allSatisfy { $0 <= 1e-5 }, "\(fixture) \(kernels): \(errors)")
    }

    @Test(arguments: variants)
    func configInferredFromShapes(variant: String) throws {
        let dict = try StateDict.load(contentsOf: fixtureURL("\(variant).weights.safetensors"))
        var base = SpkDeblurNetConfig.published
        base.D_anchor_num_layers = 2
        base.S_anchor_num_layers = 2
        #expect(SpkDeblurNetConfig.inferred(from: dict, base: base) == (try config(variant)))
    }

    @Test func variantWeightsDoNotLoadIntoThePublishedLayout() throws {
        // A use_conv checkpoint read as the linear variant: every qkv/proj is a shape mismatch.
        let dict = try StateDict.load(contentsOf: fixtureURL("conv.weights.safetensors"))
        var config = try config("conv")
        config.use_conv = false
        let error = #expect(throws: SpkDeblurNetError.self) {
            try SpkDeblurNet(config: config, weights: dict, source: "conv.weights.safetensors")
        }
        let text = try #require(error?.description)
        #expect(
            text.contains("D_layers.0.residual_group.blocks.0.attn.qkv.weight is [72, 24, 3, 3], expected [72, 24]"))
        #expect(text.contains("unexpected keys") && text.contains("mlp.conv_layer.0.weight"))
    }
}

/// Weights that carry their config (`tools/train` writes it into the safetensors metadata)
/// load with it: the anchor counts differ from the published ones and cannot be inferred.
struct StoredConfigTests {
    @Test func aConfigInTheMetadataIsUsedWhenNoneIsGiven() throws {
        let config = try SpkDeblurNetConfig.decode(
            json: Data(contentsOf: fixtureURL("tiny.json")), source: "tiny.json")
        var dict = try SafeTensors.read(contentsOf: fixtureURL("tiny.weights.safetensors"))
        #expect(SpkDeblurNetConfig.inferred(from: dict) != config, "the fixture needs a config shapes cannot tell")
        dict.metadata[SpkDeblurNet.configMetadataKey] = config.jsonString()
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("stored-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(dict, to: url)
        #expect(try SpkDeblurNet.load(weights: url).config == config)

        dict.metadata[SpkDeblurNet.configMetadataKey] = "{\"D_embed_dim\": "
        try SafeTensors.write(dict, to: url)
        #expect {
            _ = try SpkDeblurNet.load(weights: url)
        } throws: { error in
            "\(error)".contains("spkdeblurnet_config") && "\(error)".contains("not valid JSON")
        }
    }
}
