import Foundation
import Testing

@testable import Checkpoint

@Suite struct TorchFixtureTests {
    @Test func pthAndSafetensorsHoldIdenticalTensors() throws {
        let pth = try StateDict.load(contentsOf: try fixtureURL("tiny.pth"))
        let st = try StateDict.load(contentsOf: try fixtureURL("tiny.weights.safetensors"))
        #expect(pth.tensors.count == st.tensors.count)
        #expect(Set(pth.tensors.keys) == Set(st.tensors.keys))
        for (name, tensor) in st.tensors {
            let other = try #require(pth.tensors[name], "missing \(name)")
            #expect(other.dtype == tensor.dtype, "\(name)")
            #expect(other.shape == tensor.shape, "\(name)")
            #expect(other.data == tensor.data, "\(name) differs")
        }
        #expect(pth.metadata[StateDict.wrapperKeyMetadata] == nil)
        // The relative position index buffers index a (2*8-1)^2 = 225-entry bias table.
        let index = try #require(pth.tensors["D_layers.0.residual_group.blocks.0.attn.relative_position_index"])
        #expect(try index.int64s().max() == 224)
    }

    @Test func pthConvertsToTheSameSafetensorsBytes() throws {
        let pth = try TorchCheckpoint.read(contentsOf: try fixtureURL("tiny.pth"))
        let original = [UInt8](try Data(contentsOf: try fixtureURL("tiny.weights.safetensors")))
        #expect(try SafeTensors.serialize(pth) == original)
    }

    @Test func loadNamesTheFileInErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: try fixtureURL("tiny.pth"))
        let url = dir.appendingPathComponent("truncated.pth")
        try bytes.prefix(bytes.count / 2).write(to: url)
        let error = #expect(throws: CheckpointError.self) { try StateDict.load(contentsOf: url) }
        #expect(error?.description.hasPrefix("truncated.pth: truncated") == true)
        #expect(error?.file == "truncated.pth")
        #expect(error?.problem.hasPrefix("truncated: ") == true)
        let missing = #expect(throws: CheckpointError.self) {
            try StateDict.load(contentsOf: dir.appendingPathComponent("absent.pth"))
        }
        #expect(missing?.description.hasSuffix("absent.pth: no such file") == true)
    }

    @Test func legacyBarePicklesAreRefusedWithAHint() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("legacy.pth")
        try Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]).write(
            to: url)
        let error = #expect(throws: CheckpointError.self) { try StateDict.load(contentsOf: url) }
        #expect(error?.description.hasPrefix("legacy.pth: not a checkpoint: a bare pickle") == true)
    }

    @Test func anEmptyPickledDictIsAnEmptyStateDict() throws {
        var zip = ZipWriter()
        zip.add("archive/data.pkl", [0x80, 0x02, 0x7D, 0x2E])  // PROTO 2, EMPTY_DICT, STOP
        #expect(try TorchCheckpoint.read(bytes: zip.bytes(), file: "empty.pth").tensors.isEmpty)
    }
}
