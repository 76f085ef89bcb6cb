import SpikeCore
import Tensor
import Testing

@testable import Deblur

/// The exposure-window stage computes the window's TFI once; the network uses it as given.
@Suite struct PrecomputedTFITests {
    func input() throws -> (blur: FeatureMap, spikes: PackedSpikeFrames) {
        let geometry = try SpikeGeometry(height: 48, width: 64)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 5)
        var spikes = PackedSpikeFrames(geometry: geometry)
        let grey = (0..<geometry.pixelCount).map { Float($0 % 64) / 80 + 0.1 }
        for _ in 0..<56 { spikes.append(contentsOf: sim.step(grey: grey)) }
        let blur = FeatureMap(
            height: 96, width: 128, channels: 3, data: (0..<(96 * 128 * 3)).map { Float($0 % 97) / 97 })
        return (blur, spikes)
    }

    @Test func theGivenTFIIsUsedAndTheComputedOneIsTheSame() throws {
        let net = try DeblurrerFactory.make(ModelChoice(threads: 1)).deblurrer
        let (blur, spikes) = try input()
        let computed = try net.deblur(DeblurInput(blur: blur, spikes: spikes))
        let given = try net.deblur(DeblurInput(blur: blur, spikes: spikes, tfi: TFI.trainingInput(spikes)))
        #expect(computed.sharp.data.array == given.sharp.data.array)
        let flat = [Float](repeating: 0.5, count: spikes.geometry.pixelCount)
        let other = try net.deblur(DeblurInput(blur: blur, spikes: spikes, tfi: flat))
        #expect(other.sharp.data.array != computed.sharp.data.array)
        #expect(throws: DeblurError.self) {
            try net.deblur(DeblurInput(blur: blur, spikes: spikes, tfi: [0.5]))
        }
    }
}
