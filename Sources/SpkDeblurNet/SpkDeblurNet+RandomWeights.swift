import Checkpoint
import Tensor

extension SpkDeblurNet {
    /// Every state_dict key of a config with its shape, as the reference model has them.
    public static func parameterShapes(config: SpkDeblurNetConfig) -> [(name: String, shape: [Int])] {
        let probe = WeightReader(StateDict(), source: "probe")
        _ = try? SpkDeblurNet(config: config, reader: probe)
        var seen = Set<String>()
        return probe.requested.filter { seen.insert($0.0).inserted }.map { (name: $0.0, shape: $0.1) }
    }

    /// A state dict of seeded random weights for a config (for benchmarks and tests):
    /// uniform in ±1/sqrt(fan-in) like PyTorch's default initialisation, LayerNorm weights 1,
    /// valid relative position indices.
    public static func randomWeights(config: SpkDeblurNetConfig, seed: UInt64 = 0) -> StateDict {
        var rng = SeededGenerator(seed: seed)
        var dict = StateDict()
        for (name, shape) in parameterShapes(config: config) {
            let count = shape.reduce(1, *)
            if name.hasSuffix("relative_position_index") {
                let w = Int(Double(shape[0]).squareRoot().rounded())
                dict.tensors[name] = StoredTensor(
                    int64s: WindowPositionBias.relativePositionIndex(window: w).map { Int64($0) },
                    shape: shape)
                continue
            }
            let values: [Float]
            if name.hasSuffix("attn_mask") {
                values = [Float](repeating: 0, count: count)
            } else if name.contains("norm") && name.hasSuffix(".weight") || name.hasSuffix("temperature") {
                values = [Float](repeating: 1, count: count)
            } else {
                let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : max(shape[0], 1)
                let bound = Float(1 / Double(fanIn).squareRoot())
                values = (0..<count).map { _ in (rng.nextUnit() * 2 - 1) * bound }
            }
            dict.tensors[name] = StoredTensor(floats: values, shape: shape)
        }
        return dict
    }
}

/// SplitMix64, for reproducible random weights.
struct SeededGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
