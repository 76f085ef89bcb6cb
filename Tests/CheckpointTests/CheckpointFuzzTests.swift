import Foundation
import TestSupport
import Testing

@testable import Checkpoint

/// Bounded fuzz runs of the checkpoint parsers: mutated valid files never trap, and every
/// refusal is a one-line error.
@Suite struct CheckpointFuzzTests {
    static let n = Mutator.iterations(default: 2000)

    @Test func mutatedSafetensorsNeverTrap() throws {
        var dict = StateDict()
        dict.tensors["a.weight"] = StoredTensor(floats: (0..<24).map(Float.init), shape: [2, 3, 4])
        dict.tensors["a.bias"] = StoredTensor(floats: [1, 2], shape: [2], dtype: .float16)
        dict.tensors["idx"] = StoredTensor(int64s: [0, 1, 2, 3], shape: [2, 2])
        let seed = try SafeTensors.serialize(dict)
        var m = Mutator(seed: 1)
        var tally = FuzzTally("safetensors")
        for _ in 0..<Self.n {
            do throws(CheckpointError) {
                _ = try SafeTensors.read(bytes: m.mutate(seed, focus: 256), file: "fuzz.safetensors")
                tally.record(nil)
            } catch { tally.record(error) }
        }
        print(tally)
        #expect(tally.refused > Self.n / 4)
        #expect(tally.multiLine == 0)
    }

    @Test func mutatedTorchArchivesNeverTrap() throws {
        let pickle = stateDictPickle { p in
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 6, offset: 0, size: [2, 3], stride: [3, 1])
            p.string("b")
            p.tensor(storageType: "FloatStorage", key: "0", numel: 6, offset: 4, size: [2], stride: [1])
        }
        let seed = torchArchive(pickle: pickle, storages: ["0": float32Bytes([1, 2, 3, 4, 5, 6])])
        var m = Mutator(seed: 2)
        var tally = FuzzTally("zip + pickle")
        for i in 0..<Self.n {
            // Half the runs mutate the pickle inside a valid archive, half the archive itself.
            let bytes =
                i % 2 == 0
                ? torchArchive(pickle: m.mutate(pickle, focus: 64), storages: ["0": float32Bytes([1, 2, 3, 4, 5, 6])])
                : m.mutate(seed, focus: 256)
            do throws(CheckpointError) {
                _ = try TorchCheckpoint.read(bytes: bytes, file: "fuzz.pth")
                tally.record(nil)
            } catch { tally.record(error) }
        }
        print(tally)
        #expect(tally.refused > Self.n / 4)
        #expect(tally.multiLine == 0)
    }
}
