import Checkpoint
import Foundation
import Testing

@testable import SpikeCore

private func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
}

private func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("spk-\(UUID().uuidString)-\(name)").path
}

private let geometryA = SpikeGeometry(known: 36, 52)

private func randomVolume(_ g: SpikeGeometry, frames: Int, density: Double, seed: UInt64) -> SpikeVolume {
    var rng = SplitMix64(seed: seed)
    let values = (0..<(frames * g.pixelCount)).map { _ in Double(rng.nextUnitFloat()) < density ? UInt8(1) : 0 }
    return SpikeVolume(unchecked: g, frameCount: frames, values: values)
}

@Suite struct DatCodecTests {
    @Test func decodesFixtureExactlyAsReference() throws {
        let expect = try SafeTensors.read(contentsOf: fixture("spikes_a.expect.safetensors"))
        let spikes = try #require(expect.tensors["spikes"])
        #expect(spikes.shape == [40, 36, 52])
        let file = try DatFile(path: fixture("spikes_a.dat").path, geometry: geometryA)
        #expect(file.frameCount == 40)
        let volume = try file.readAll().unpacked()
        #expect(volume.floats() == (try spikes.floats()))
    }

    @Test func reencodesFixtureByteExact() throws {
        let url = try fixture("spikes_a.dat")
        let original = [UInt8](try Data(contentsOf: url))
        let volume = try DatCodec.decode(original, geometry: geometryA)
        #expect(volume.packed().bytes == original)
    }

    @Test(arguments: [(8, 8, 1), (36, 52, 5), (3, 40, 7), (250, 400, 2)])
    func roundTripsRandomVolumes(h: Int, w: Int, frames: Int) throws {
        let g = try SpikeGeometry(height: h, width: w)
        let v = randomVolume(g, frames: frames, density: 0.3, seed: UInt64(h * w))
        #expect(v.packed().unpacked() == v)
        #expect(v.packed().spikeCount == v.values.reduce(0) { $0 + Int($1) })
    }

    @Test func fileRangesReadWithoutWholeFile() throws {
        let file = try DatFile(path: fixture("spikes_a.dat").path, geometry: geometryA)
        let all = try file.readAll()
        let part = try file.read(10..<17)
        #expect(part.count == 7)
        #expect(part == (try all.slice(10..<17)))
        let error = #expect(throws: SpikeError.self) { try file.read(35..<41) }
        #expect(error?.description.contains("35..<41") == true)
    }

    @Test func writerAppendsAndReadsBack() throws {
        let g = try SpikeGeometry(height: 16, width: 24)
        let v = randomVolume(g, frames: 9, density: 0.2, seed: 3)
        let path = tempPath("w.dat")
        defer { unlink(path) }
        let writer = try DatWriter(path: path, geometry: g)
        try writer.append(try v.packed().slice(0..<4))
        try writer.append(try v.packed().slice(4..<9))
        try writer.close()
        #expect(writer.framesWritten == 9)
        #expect(try DatFile(path: path, geometry: g).readAll().unpacked() == v)
    }
}

@Suite struct MalformedInputTests {
    @Test func truncatedFileNamesFileAndRemainder() throws {
        let data = try Data(contentsOf: fixture("spikes_a.dat"))
        let path = tempPath("cut.dat")
        defer { unlink(path) }
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SpikeError.self) { try DatFile(path: path, geometry: geometryA) }
        let text = try #require(error?.description)
        #expect(text.hasPrefix(path))
        #expect(text.contains("39 frames + 134 bytes remainder"))
        // Lenient mode keeps every whole frame and reports the tail.
        let lenient = try DatFile(path: path, geometry: geometryA, strict: false)
        #expect(lenient.frameCount == 39)
        #expect(lenient.trailingBytes == 134)
    }

    @Test func geometryMustFillWholeBytes() {
        let error = #expect(throws: SpikeError.self) { try SpikeGeometry(height: 3, width: 5) }
        #expect(error == .invalidGeometry(height: 3, width: 5))
        #expect(throws: SpikeError.self) { try SpikeGeometry(height: 0, width: 8) }
    }

    @Test func missingFileIsNamed() {
        let error = #expect(throws: SpikeError.self) { try DatFile(path: "/nonexistent/x.dat", geometry: geometryA) }
        #expect(error?.description.hasPrefix("/nonexistent/x.dat: cannot open") == true)
    }

    @Test func partialBufferIsRejected() {
        #expect(throws: SpikeError.self) { try PackedSpikeFrames(geometry: geometryA, bytes: [0, 1, 2]) }
    }
}

@Suite struct TFITests {
    @Test(arguments: [(1, 50), (20, 3), (20, 50), (38, 7)])
    func matchesReferenceFixture(middle: Int, window: Int) throws {
        let expect = try SafeTensors.read(contentsOf: fixture("spikes_a.expect.safetensors"))
        let key = "tfi_m\(middle)_w\(window)"
        let reference = try #require(expect.tensors[key])
        let packed = try DatFile(path: fixture("spikes_a.dat").path, geometry: geometryA).readAll()
        #expect(TFI.middle(packed, middle: middle, window: window) == (try reference.floats()))
        #expect(TFI.middle(packed.unpacked(), middle: middle, window: window) == (try reference.floats()))
    }

    @Test func everyFixtureKeyMatches() throws {
        let expect = try SafeTensors.read(contentsOf: fixture("spikes_a.expect.safetensors"))
        let packed = try DatFile(path: fixture("spikes_a.dat").path, geometry: geometryA).readAll()
        let keys = expect.tensors.keys.filter { $0.hasPrefix("tfi_") }
        #expect(!keys.isEmpty)
        for key in keys {
            let parts = key.dropFirst(4).split(separator: "_")
            let m = try #require(Int(parts[0].dropFirst()))
            let w = try #require(Int(parts[1].dropFirst()))
            #expect(TFI.middle(packed, middle: m, window: w) == (try expect.tensors[key]?.floats()), "\(key)")
        }
    }

    @Test func spikeAtIndexZeroCountsAsNone() throws {
        let g = try SpikeGeometry(height: 1, width: 8)
        var values = [UInt8](repeating: 0, count: 6 * 8)
        values[0 * 8 + 0] = 1  // pixel 0 fires at frame 0 only on the left
        values[4 * 8 + 0] = 1  // and at frame 4 on the right
        values[1 * 8 + 1] = 1  // pixel 1 fires at frame 1 and 4
        values[4 * 8 + 1] = 1
        let v = try SpikeVolume(geometry: g, frameCount: 6, values: values)
        let tfi = TFI.middle(v, middle: 2, window: 50)
        #expect(tfi[0] == Float(1.0 / Double(4 - (2 - 50))))
        #expect(tfi[1] == Float(1.0 / 3.0))
        #expect(tfi[2] == Float(1.0 / 100.0))
        #expect(TFI.middle(v.packed(), middle: 2, window: 50) == tfi)
    }

    @Test func tfpIsMeanOfWindow() throws {
        let g = try SpikeGeometry(height: 2, width: 4)
        let v = randomVolume(g, frames: 30, density: 0.4, seed: 11)
        let tfp = TFP.middle(v.packed(), middle: 10, window: 5)
        for p in 0..<g.pixelCount {
            let count = (6..<16).reduce(0) { $0 + Int(v.values[$1 * g.pixelCount + p]) }
            #expect(abs(tfp[p] - Float(count) / 10) < 1e-6)
        }
    }

    @Test func windowIsCentred() throws {
        #expect(SpikeWindow.range(center: 100, length: 56) == 72..<128)
        #expect(SpikeWindow.range(center: 10, length: 5) == 8..<13)
        let packed = try DatFile(path: fixture("spikes_a.dat").path, geometry: geometryA).readAll()
        #expect(throws: SpikeError.self) { try SpikeWindow.cut(packed, center: 5, length: 20) }
        #expect(try SpikeWindow.cut(packed, center: 20, length: 8).count == 8)
        #expect(SpikeWindow.frameIndex(atNanoseconds: 1_000_000, startNanoseconds: 0, rateHz: 20_000) == 20)
    }
}

@Suite struct SimulatorTests {
    @Test func isDeterministicPerSeed() throws {
        let g = try SpikeGeometry(height: 8, width: 16)
        let grey = (0..<g.pixelCount).map { Float($0) / Float(g.pixelCount) }
        var a = try IntegrateAndFireSimulator(geometry: g, threshold: 2, seed: 42)
        var b = try IntegrateAndFireSimulator(geometry: g, threshold: 2, seed: 42)
        var c = try IntegrateAndFireSimulator(geometry: g, threshold: 2, seed: 43)
        var same = true, differs = false
        for _ in 0..<20 {
            let fa = a.step(grey: grey), fb = b.step(grey: grey), fc = c.step(grey: grey)
            same = same && fa == fb
            differs = differs || fa != fc
        }
        #expect(same)
        #expect(differs)
    }

    @Test(arguments: [(Float(0.3), Float(1)), (0.8, 2), (0.55, 1)])
    func firingRateIsIntensityOverThreshold(intensity: Float, threshold: Float) throws {
        let g = try SpikeGeometry(height: 16, width: 16)
        var sim = try IntegrateAndFireSimulator(geometry: g, threshold: threshold, seed: 1)
        let grey = [Float](repeating: intensity, count: g.pixelCount)
        let steps = 2000
        var spikes = 0
        for _ in 0..<steps { spikes += sim.step(grey: grey).spikeCount }
        let rate = Double(spikes) / Double(steps * g.pixelCount)
        let expected = Double(intensity / threshold)
        #expect(abs(rate - expected) / expected < 0.01)
    }

    @Test func rejectsBadThreshold() throws {
        let g = try SpikeGeometry(height: 8, width: 8)
        #expect(throws: SpikeError.self) { try IntegrateAndFireSimulator(geometry: g, threshold: 0, seed: 1) }
    }

    @Test func areaDownsampleAveragesBlocks() {
        let grey: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        #expect(AreaResample.downsample2x(grey, width: 4, height: 4) == [2.5, 4.5, 10.5, 12.5])
    }
}
