import Foundation
import Testing

@testable import SpikeCore

/// A literal per-pixel transcription of the reference scan, independent of the fast code.
func referenceTFI(_ volume: SpikeVolume, middle: Int, window: Int) -> [Float] {
    let g = volume.geometry
    var out = [Float](repeating: 0, count: g.pixelCount)
    for y in 0..<g.height {
        for x in 0..<g.width {
            var left = 0
            var right = 0
            var l = middle + 1
            for r in (middle + 1)...(middle + window) {
                l -= 1
                if l >= 0 && left == 0 && volume[l, y, x] == 1 { left = l }
                if r < volume.frameCount && right == 0 && volume[r, y, x] == 1 { right = r }
            }
            if right == 0 { right = middle + window }
            if left == 0 { left = middle - window }
            out[y * g.width + x] = Float(1.0 / Double(right - left))
        }
    }
    return out
}

@Suite struct TFIFastPathTests {
    let frames: PackedSpikeFrames
    let expect: SafetensorsFile

    init() throws {
        let geometry = try SpikeGeometry(height: 36, width: 52)
        frames = try DatFile(path: try Fixtures.url("spikes_a.dat").path, geometry: geometry).readAll()
        expect = try SafetensorsFile(url: try Fixtures.url("spikes_a.expect.safetensors"))
    }

    @Test(arguments: [(1, 50), (20, 3), (20, 50), (38, 7)])
    func matchesReferenceFixtureExactly(middle: Int, window: Int) throws {
        let want = try expect.floats("tfi_m\(middle)_w\(window)")
        #expect(want.shape == [36, 52])
        let volume = frames.unpacked()
        #expect(TFI.middle(volume, middle: middle, window: window) == want.values)
        #expect(TFI.middle(frames, middle: middle, window: window) == want.values)
    }

    @Test(arguments: [(8, 8), (5, 8), (3, 24), (16, 20)])
    func fastPathsAgreeWithLiteralScanOnRandomVolumes(height: Int, width: Int) throws {
        let geometry = try SpikeGeometry(height: height, width: width)
        var rng = SplitMix64(seed: UInt64(height * 31 + width))
        for (frameCount, density) in [(1, 2), (12, 4), (60, 16), (130, 64)] {
            let values = (0..<(frameCount * geometry.pixelCount)).map { _ in
                UInt8(rng.next() % UInt64(density) == 0 ? 1 : 0)
            }
            let volume = try SpikeVolume(geometry: geometry, frameCount: frameCount, values: values)
            let packed = volume.packed()
            for middle in Set([0, frameCount / 2, frameCount - 1, min(3, frameCount - 1)]) {
                for window in [1, 5, 50] {
                    let want = referenceTFI(volume, middle: middle, window: window)
                    #expect(TFI.middle(volume, middle: middle, window: window) == want)
                    #expect(TFI.middle(packed, middle: middle, window: window) == want)
                }
            }
        }
    }

    @Test func longStreamsUseTheWideIndexPath() throws {
        // Indices past 254 do not fit the byte-wide reduction; both paths must still agree.
        let geometry = try SpikeGeometry(height: 2, width: 8)
        var rng = SplitMix64(seed: 99)
        let frameCount = 320
        let values = (0..<(frameCount * geometry.pixelCount)).map { _ in UInt8(rng.next() % 9 == 0 ? 1 : 0) }
        let volume = try SpikeVolume(geometry: geometry, frameCount: frameCount, values: values)
        for (middle, window) in [(260, 50), (230, 40), (300, 7), (319, 50)] {
            let want = referenceTFI(volume, middle: middle, window: window)
            #expect(TFI.middle(volume, middle: middle, window: window) == want)
            #expect(TFI.middle(volume.packed(), middle: middle, window: window) == want)
        }
    }

    @Test func anyNonzeroValueIsASpike() throws {
        let geometry = try SpikeGeometry(height: 1, width: 8)
        var values = [UInt8](repeating: 0, count: 8 * 12)
        values[3 * 8 + 2] = 7
        values[8 * 8 + 2] = 200
        let volume = try SpikeVolume(geometry: geometry, frameCount: 12, values: values)
        let tfi = TFI.middle(volume, middle: 5, window: 50)
        #expect(tfi[2] == Float(1.0 / 5.0))
        #expect(tfi == TFI.middle(volume.packed(), middle: 5, window: 50))
    }

    @Test func quirksOfTheReference() throws {
        let geometry = try SpikeGeometry(height: 1, width: 8)
        var values = [UInt8](repeating: 0, count: 80)
        // Pixel 0: spikes only at frame 0 and frame 7 -> left none (m-50), right 7.
        values[0 * 8 + 0] = 1
        values[7 * 8 + 0] = 1
        // Pixel 1: spike at the middle itself and at middle+1.
        values[4 * 8 + 1] = 1
        values[5 * 8 + 1] = 1
        let volume = try SpikeVolume(geometry: geometry, frameCount: 10, values: values)
        // Pixel 2: nothing at all -> 1 / (2 * window).
        let tfi = TFI.middle(volume, middle: 4, window: 50)
        #expect(tfi[0] == Float(1.0 / Double(7 - (4 - 50))))
        #expect(tfi[1] == 1)
        #expect(tfi[2] == Float(1.0 / 100.0))
        #expect(TFI.middle(volume.packed(), middle: 4, window: 50) == tfi)
    }

    @Test func trainingInputDividesByHalf() throws {
        let window = try frames.slice(0..<40)
        let plain = TFI.middle(window, middle: 20)
        let training = TFI.trainingInput(window)
        #expect(training == plain.map { $0 * 2 })
        #expect(TFI.trainingInput(window.unpacked()) == training)
    }

    @Test func tfpIsTheWindowMean() throws {
        let volume = frames.unpacked()
        let center = 10
        let window = 4
        let tfp = TFP.intensity(volume, center: center, window: window)
        let g = volume.geometry
        for p in stride(from: 0, to: g.pixelCount, by: 37) {
            var count = 0
            for t in 7...14 { count += Int(volume.values[t * g.pixelCount + p]) }
            #expect(tfp[p] == Float(count) / 8)
        }
        // Clipped at the stream start: frames 0...3 only.
        let early = TFP.intensity(volume, center: 1, window: 3)
        var count0 = 0
        for t in 0...3 { count0 += Int(volume.values[t * g.pixelCount]) }
        #expect(early[0] == Float(count0) / 4)
    }
}

@Suite struct WindowEdgeTests {
    @Test func centredRangeAndEdges() throws {
        #expect(SpikeWindow.range(center: 28, length: 56) == 0..<56)
        #expect(SpikeWindow.range(center: 2, length: 5) == 0..<5)
        let geometry = try SpikeGeometry(height: 1, width: 8)
        let stream = try PackedSpikeFrames(geometry: geometry, bytes: [UInt8](repeating: 0, count: 100))
        #expect(try SpikeWindow.cut(stream, center: 28, length: 56).count == 56)
        #expect(try SpikeWindow.cut(stream, center: 72, length: 56).count == 56)
        #expect(throws: SpikeError.self) { try SpikeWindow.cut(stream, center: 27, length: 56) }
        #expect(throws: SpikeError.self) { try SpikeWindow.cut(stream, center: 73, length: 56) }
        do {
            _ = try SpikeWindow.cut(stream, center: 27, length: 56)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("-1..<55"))
            #expect(error.description.contains("100"))
        }
    }

    @Test func centralWindowLikeTheGoProLoader() throws {
        let geometry = try SpikeGeometry(height: 36, width: 52)
        let file = try DatFile(path: try Fixtures.url("spikes_a.dat").path, geometry: geometry)
        let all = try file.readAll()
        // The loader takes frames n/2 - T/2 ..< n/2 + T/2.
        #expect(try SpikeWindow.central(all, length: 20) == (try all.slice(10..<30)))
        #expect(try SpikeWindow.central(all, length: 40) == all)
        #expect(throws: SpikeError.self) { try SpikeWindow.central(all, length: 41) }
        #expect(try SpikeWindow.cut(file, center: 20, length: 7) == (try all.slice(17..<24)))
        #expect(all.unpacked().frames(17..<24) == all.unpacked(range: 17..<24))
    }
}
