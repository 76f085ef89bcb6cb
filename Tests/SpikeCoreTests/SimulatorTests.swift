import Testing

@testable import SpikeCore

@Suite struct SimulatorBehaviourTests {
    @Test func sameSeedSameSpikesDifferentSeedDifferent() throws {
        let geometry = try SpikeGeometry(height: 16, width: 24)
        var rng = SplitMix64(seed: 7)
        let frames = (0..<20).map { _ in (0..<geometry.pixelCount).map { _ in rng.nextUnitFloat() } }
        var a = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 42)
        var b = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 42)
        var c = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 43)
        let outA = run(&a, frames)
        #expect(outA == run(&b, frames))
        #expect(outA != run(&c, frames))
        #expect(outA.count == 20)
    }

    @Test(arguments: [(Float(0.3), Float(1)), (Float(0.77), Float(2)), (Float(1), Float(2)), (Float(0.05), Float(1))])
    func firingRateEqualsIntensityOverThreshold(grey: Float, threshold: Float) throws {
        let geometry = try SpikeGeometry(height: 16, width: 16)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: threshold, seed: 9)
        let frame = [Float](repeating: grey, count: geometry.pixelCount)
        let steps = 2000
        var spikes = 0
        for _ in 0..<steps { spikes += sim.step(grey: frame).spikeCount }
        let rate = Double(spikes) / Double(steps * geometry.pixelCount)
        let want = Double(grey) / Double(threshold)
        #expect(abs(rate - want) <= 0.01 * want)
    }

    @Test func spikesLandInDisplayOrder() throws {
        let geometry = try SpikeGeometry(height: 4, width: 8)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 1, seed: 3)
        // Only the top-left pixel is lit at full intensity: it fires every frame.
        var frame = [Float](repeating: 0, count: geometry.pixelCount)
        frame[0] = 1
        let out = run(&sim, [frame, frame, frame]).unpacked()
        for t in 0..<3 {
            #expect(out[t, 0, 0] == 1)
            #expect(out.values[(t * 32)..<(t * 32 + 32)].reduce(0) { $0 + Int($1) } == 1)
        }
    }

    @Test func tfiOfSimulatedConstantRecoversIntensity() throws {
        // Threshold 2 and the /0.5 training convention: TFI input ~ grey level.
        let geometry = try SpikeGeometry(height: 8, width: 8)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, seed: 5)
        let frame = [Float](repeating: 0.5, count: geometry.pixelCount)
        let frames = run(&sim, Array(repeating: frame, count: 56))
        let tfi = TFI.trainingInput(frames)
        #expect(tfi.allSatisfy { abs($0 - 0.5) < 1e-6 })
    }

    @Test func areaDownsampleAndGrey() {
        let values: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]  // 6 wide, 3 high
        let half = AreaResample.downsample2x(values, width: 6, height: 3)
        let want: [Float] = [14 / 4, 22 / 4, 30 / 4]  // means of the 2x2 blocks
        #expect(half == want)
        let rgb: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5]
        let grey = GreyImage.fromRGB(rgb, width: 4, height: 1, channels: 3)
        #expect(grey[0] == 0.299)
        #expect(grey[1] == 0.587)
        #expect(grey[2] == 0.114)
        #expect(abs(grey[3] - 0.5) < 1e-6)
        #expect(GreyImage.quantized([0.5, 1.2, -1]) == [128 / 255, 1, 0])
    }
}

private func run(_ sim: inout IntegrateAndFireSimulator, _ frames: [[Float]]) -> PackedSpikeFrames {
    var out = PackedSpikeFrames(geometry: sim.geometry)
    for frame in frames { out.append(contentsOf: sim.step(grey: frame)) }
    return out
}

@Suite struct SensorImperfectionTests {
    @Test(arguments: [Float(0.01), Float(0.05)])
    func spuriousSpikesFireAtTheirRateOnADarkScene(rate: Float) throws {
        let geometry = try SpikeGeometry(height: 32, width: 40)
        var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, spuriousRate: rate, seed: 3)
        let dark = [Float](repeating: 0, count: geometry.pixelCount)
        let steps = 400
        var spikes = 0
        for _ in 0..<steps { spikes += sim.step(grey: dark).spikeCount }
        let measured = Double(spikes) / Double(steps * geometry.pixelCount)
        // Binomial: n = 512,000 draws; 5% relative is many standard deviations.
        #expect(abs(measured - Double(rate)) <= 0.05 * Double(rate))
    }

    @Test func thresholdSpreadMakesPixelsFireAtDifferentRates() throws {
        let geometry = try SpikeGeometry(height: 16, width: 16)
        let grey = [Float](repeating: 0.8, count: geometry.pixelCount)
        func perPixelCounts(spread: Float) throws -> [Int] {
            var sim = try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, thresholdSpread: spread, seed: 4)
            var counts = [Int](repeating: 0, count: geometry.pixelCount)
            for _ in 0..<500 {
                let bits = sim.step(grey: grey).unpacked().values
                for i in counts.indices where bits[i] != 0 { counts[i] += 1 }
            }
            return counts
        }
        let uniform = try perPixelCounts(spread: 0)
        let spread = try perPixelCounts(spread: 0.1)
        // 500 steps at 0.4 spikes/step: 200 +- 1 without spread; +-10% thresholds move it by ~20.
        #expect(uniform.max()! - uniform.min()! <= 1)
        #expect(spread.max()! - spread.min()! >= 20)
        #expect(throws: SpikeError.self) {
            try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, thresholdSpread: 0.9, seed: 1)
        }
        #expect(throws: SpikeError.self) {
            try IntegrateAndFireSimulator(geometry: geometry, threshold: 2, spuriousRate: -0.1, seed: 1)
        }
    }
}

@Suite struct HostileGeometryTests {
    @Test(arguments: [(1 << 32, 8), (8, 1 << 32), (1 << 20, 1 << 20), (0, 8), (-8, 8), (Int.max, Int.max)])
    func absurdSidesAreRefusedWithoutTrapping(height: Int, width: Int) {
        do {
            _ = try SpikeGeometry(height: height, width: width)
            Issue.record("accepted \(height)x\(width)")
        } catch {
            #expect(error.description.contains("\(height)x\(width)"))
        }
    }

    @Test func windowRangesSaturate() {
        #expect(SpikeWindow.range(center: 28, length: 56) == 0..<56)
        let high = SpikeWindow.range(center: Int.max, length: 56)
        #expect(high.upperBound == Int.max && high.lowerBound == Int.max - 28)
        let low = SpikeWindow.range(center: Int.min, length: 56)
        #expect(low.lowerBound == Int.min)
        #expect(SpikeWindow.range(center: 5, length: Int.max).count == Int.max)
    }
}
