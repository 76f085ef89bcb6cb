import Checkpoint
import Tensor
import Testing

@testable import SpkDeblurNet

@Test func defaultModelHasTheReferenceParameterCount() {
    let shapes = SpkDeblurNet.parameterShapes(config: .published)
    let parameters = shapes.filter { !$0.name.hasSuffix("relative_position_index") && !$0.name.hasSuffix("attn_mask") }
        .reduce(0) { $0 + $1.shape.reduce(1, *) }
    #expect(parameters == 13_464_684)
}

@Test func flopCountMatchesTheDocumentedCost() {
    let f500 = SpkDeblurNetConfig.published.flops(height: 500, width: 800)
    let f720 = SpkDeblurNetConfig.published.flops(height: 720, width: 1280)
    print("GFLOP 500x800: \(f500.total / 1e9) (discarded \(f500.discarded / 1e9)); 720x1280: \(f720.total / 1e9)")
    #expect(abs(f500.total / 1e9 - 793) < 8)
    #expect(abs(f500.discarded / 1e9 - 29) < 1.5)
    #expect(abs(f720.total / 1e9 - 1703) < 17)
}

/// A small config (12 / 8 channels, two groups each, T = 4).
private func smallRandomConfig() -> SpkDeblurNetConfig {
    var config = SpkDeblurNetConfig.published
    config.D_embed_dim = 12; config.S_embed_dim = 8; config.D_depths = [2, 2]; config.D_num_heads = [2, 2]
    config.S_depths = [2, 2]; config.S_num_heads = [2, 2]; config.D_anchor_num_layers = 1;
    config.S_anchor_num_layers = 1
    config.S_in_chs = 4
    return config
}

@Test func randomWeightsBuildAModel() throws {
    let config = smallRandomConfig()
    let weights = SpkDeblurNet.randomWeights(config: config, seed: 1)
    let model = try SpkDeblurNet(config: config, weights: weights)
    #expect(model.config == config)
    #expect(SpkDeblurNet.randomWeights(config: config, seed: 1).tensors == weights.tensors)
}

@Test func channelsLastEntryComputesWhatTheTensorEntryDoes() throws {
    let config = smallRandomConfig()
    let model = try SpkDeblurNet(config: config, weights: SpkDeblurNet.randomWeights(config: config, seed: 3))
    let (h, w) = (128, 160)
    var rng = SystemRandomNumberGenerator()
    func values(_ n: Int, binary: Bool) -> [Float] {
        (0..<n).map { _ in binary ? Float(Int.random(in: 0...1, using: &rng)) : Float.random(in: 0...1, using: &rng) }
    }
    let blur = Tensor(shape: [2, 3, h, w], data: values(2 * 3 * h * w, binary: false))
    let spike = Tensor(shape: [2, 4, h / 2, w / 2], data: values(2 * 4 * h * w / 4, binary: true))
    let tfi = Tensor(shape: [2, 1, h / 2, w / 2], data: values(2 * h * w / 4, binary: false))
    let backend = CPUBackend(threads: 2)
    let reference = try model(blur: blur, spike: spike, tfi: tfi, backend: backend)
    let out = try model(
        blur: (0..<2).map { blur.featureMap(batch: $0) }, spike: (0..<2).map { spike.featureMap(batch: $0) },
        tfi: (0..<2).map { tfi.featureMap(batch: $0) }, backend: backend)
    #expect(Tensor(stacking: out.sharp) == reference.sharp)
    #expect(Tensor(stacking: out.spikeRecon) == reference.spikeRecon)
    #expect(Tensor(stacking: out.quickSharp) == reference.quickSharp)
    // Images of one batch must agree in size; the error names the input.
    #expect {
        _ = try model(
            blur: [blur.featureMap(batch: 0), FeatureMap(height: h - 2, width: w, channels: 3)],
            spike: [spike.featureMap(batch: 0)], tfi: [tfi.featureMap(batch: 0)], backend: backend)
    } throws: { "\($0)".contains("blur") && "\($0)".contains("differ in size") }
}
