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
    }

    @Test func pthConvertsToTheSameSafetensorsBytes() throws {
        let pth = try TorchCheckpoint.read(contentsOf: try fixtureURL("tiny.pth"))
        let original = [UInt8](try Data(contentsOf: try fixtureURL("tiny.weights.safetensors")))
        #expect(try SafeTensors.serialize(pth) == original)
    }
}
