import Checkpoint
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

@Test func randomWeightsBuildAModel() throws {
    var config = SpkDeblurNetConfig.published
    config.D_embed_dim = 12; config.S_embed_dim = 8; config.D_depths = [2, 2]; config.D_num_heads = [2, 2]
    config.S_depths = [2, 2]; config.S_num_heads = [2, 2]; config.D_anchor_num_layers = 1;
    config.S_anchor_num_layers = 1
    config.S_in_chs = 4
    let weights = SpkDeblurNet.randomWeights(config: config, seed: 1)
    let model = try SpkDeblurNet(config: config, weights: weights)
    #expect(model.config == config)
    #expect(SpkDeblurNet.randomWeights(config: config, seed: 1).tensors == weights.tensors)
}
