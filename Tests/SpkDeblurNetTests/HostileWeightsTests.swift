import Checkpoint
import Foundation
import Testing

@testable import SpkDeblurNet

/// Weights that parse but would trap or poison every output are refused when loaded, with
/// the key named.
@Suite struct HostileWeightsTests {
    func tinyWeights() throws -> StateDict {
        try StateDict.load(contentsOf: fixtureURL("tiny.weights.safetensors"))
    }

    @Test(arguments: [Int64(-1), Int64(225), Int64(1 << 40), Int64.max, Int64.min])
    func relativePositionIndexOutOfRange(value: Int64) throws {
        var dict = try tinyWeights()
        let key = try #require(dict.tensors.keys.sorted().first { $0.hasSuffix("relative_position_index") })
        let t = try #require(dict.tensors[key])
        var values = try t.int64s()
        values[values.count / 2] = value
        dict.tensors[key] = StoredTensor(int64s: values, shape: t.shape)
        do {
            _ = try SpkDeblurNet(config: try tinyConfig(), weights: dict, source: "mutated")
            Issue.record("accepted index \(value)")
        } catch {
            #expect("\(error)".contains(key), "\(error)")
            #expect("\(error)".contains("outside 0..<"), "\(error)")
        }
    }

    @Test(arguments: [Float.nan, Float.infinity, -Float.infinity])
    func nonFiniteWeightsAreRefused(value: Float) throws {
        var dict = try tinyWeights()
        let key = try #require(dict.tensors.keys.sorted().first { $0.hasSuffix("qkv.weight") })
        let t = try #require(dict.tensors[key])
        var values = try t.floats()
        values[3] = value
        dict.tensors[key] = StoredTensor(floats: values, shape: t.shape)
        do {
            _ = try SpkDeblurNet(config: try tinyConfig(), weights: dict, source: "mutated")
            Issue.record("accepted a \(value) weight")
        } catch {
            #expect("\(error)".contains("\(key) holds a non-finite value"), "\(error)")
        }
    }
}
