import Checkpoint
import Tensor

/// Reads model parameters out of a state dict by name and shape, collecting every missing
/// key and shape mismatch so they are reported together.
final class WeightReader {
    let dict: StateDict
    let source: String
    private(set) var used = Set<String>()
    private(set) var missing: [String] = []
    private(set) var mismatches: [String] = []
    /// Every parameter asked for, with the shape expected, in order.
    private(set) var requested: [(String, [Int])] = []

    init(_ dict: StateDict, source: String) {
        self.dict = dict
        self.source = source
    }

    /// The values of `key`, which must have `shape`; zeros (and a recorded problem) otherwise.
    func floats(_ key: String, _ shape: [Int]) -> [Float] {
        used.insert(key)
        requested.append((key, shape))
        guard let t = dict.tensors[key] else {
            missing.append(key)
            return [Float](repeating: 0, count: shape.reduce(1, *))
        }
        guard t.shape == shape else {
            mismatches.append("\(key) is \(t.shape), expected \(shape)")
            return [Float](repeating: 0, count: shape.reduce(1, *))
        }
        do {
            let values = try t.floats()
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                mismatches.append("\(key) holds a non-finite value (\(values[bad]) at flat index \(bad))")
                return [Float](repeating: 0, count: shape.reduce(1, *))
            }
            return values
        } catch {
            mismatches.append("\(key): \(error)")
            return [Float](repeating: 0, count: shape.reduce(1, *))
        }
    }

    /// Checks a key's presence and shape without converting it (for parameters the forward
    /// pass provably never uses).
    func check(_ key: String, _ shape: [Int]) {
        used.insert(key)
        requested.append((key, shape))
        guard let t = dict.tensors[key] else { missing.append(key); return }
        if t.shape != shape { mismatches.append("\(key) is \(t.shape), expected \(shape)") }
    }

    /// Checks every parameter of a submodule by shape only.
    func checkAll(_ entries: [(String, [Int])]) { for (k, s) in entries { check(k, s) } }

    func conv(_ prefix: String, out: Int, in cin: Int, kernel: Int, stride: Int = 1, groups: Int = 1, bias: Bool = true)
        -> ConvWeights
    {
        let w = floats("\(prefix).weight", [out, cin / groups, kernel, kernel])
        let b = bias ? floats("\(prefix).bias", [out]) : nil
        return ConvWeights(
            outChannels: out, inChannels: cin, kernel: kernel, stride: stride, groups: groups, weight: w, bias: b)
    }

    func linear(_ prefix: String, out: Int, in cin: Int, bias: Bool = true) -> LinearWeights {
        LinearWeights(
            outFeatures: out, inFeatures: cin, weight: floats("\(prefix).weight", [out, cin]),
            bias: bias ? floats("\(prefix).bias", [out]) : nil)
    }

    func norm(_ prefix: String, _ c: Int) -> NormWeights {
        NormWeights(weight: floats("\(prefix).weight", [c]), bias: floats("\(prefix).bias", [c]))
    }

    /// An int64 index buffer whose values must lie in `0..<bound`, or nil when missing,
    /// misshapen or out of range (recorded).
    func indices(_ key: String, _ shape: [Int], bound: Int) -> [Int]? {
        used.insert(key)
        requested.append((key, shape))
        guard let t = dict.tensors[key] else { missing.append(key); return nil }
        guard t.shape == shape else { mismatches.append("\(key) is \(t.shape), expected \(shape)"); return nil }
        do {
            let values = try t.int64s()
            if let bad = values.firstIndex(where: { $0 < 0 || $0 >= Int64(bound) }) {
                mismatches.append("\(key) holds \(values[bad]) at flat index \(bad), outside 0..<\(bound)")
                return nil
            }
            return values.map { Int($0) }
        } catch {
            mismatches.append("\(key): \(error)")
            return nil
        }
    }

    /// Throws one error listing every problem, including keys the model does not have.
    func finish() throws(SpkDeblurNetError) {
        let unexpected = dict.tensors.keys.filter { !used.contains($0) }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty || !mismatches.isEmpty {
            throw .weightsMismatch(
                source: source, missing: missing.sorted(), unexpected: unexpected, shapeMismatches: mismatches)
        }
    }
}
