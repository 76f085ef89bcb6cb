import Foundation
import Testing

@testable import SpikeCore

@Suite struct CodecTests {
    let geometry: SpikeGeometry

    init() throws {
        geometry = try SpikeGeometry(height: 36, width: 52)
    }

    /// The channels-last decoding (the model's input) holds the same spikes as the frame-major
    /// one, for rows that are and are not whole bytes.
    @Test(arguments: [(36, 52), (12, 22), (8, 8), (4, 6)])
    func channelsLastDecodingMatchesTheFrames(height: Int, width: Int) throws {
        let g = try SpikeGeometry(height: height, width: width)
        var state: UInt64 = 0x1234_5678 &+ UInt64(height * width)
        let bytes = (0..<(g.bytesPerFrame * 7)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let frames = try PackedSpikeFrames(geometry: g, bytes: bytes)
        let volume = frames.unpacked()
        var out = [Float](repeating: -1, count: height * width * 7)
        out.withUnsafeMutableBufferPointer { frames.unpackChannelsLast(into: $0.baseAddress!) }
        var mismatches = 0
        for y in 0..<height {
            for x in 0..<width {
                for t in 0..<7 where out[(y * width + x) * 7 + t] != Float(volume[t, y, x]) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(out.contains(1) && out.contains(0))
    }

    @Test func fixtureDecodesExactlyLikeTheReference() throws {
        let file = try DatFile(path: try Fixtures.url("spikes_a.dat").path, geometry: geometry)
        #expect(file.frameCount == 40)
        #expect(file.trailingBytes == 0)
        let volume = try file.readAll().unpacked()
        let expect = try SafetensorsFile(url: try Fixtures.url("spikes_a.expect.safetensors")).floats("spikes")
        #expect(expect.shape == [40, 36, 52])
        #expect(volume.floats() == expect.values)
        // Nontrivial content: some spikes and some silence.
        let ones = volume.values.reduce(0) { $0 + Int($1) }
        #expect(ones > 0 && ones < volume.values.count)
    }

    @Test func fixtureReencodesByteExact() throws {
        let url = try Fixtures.url("spikes_a.dat")
        let raw = [UInt8](try Data(contentsOf: url))
        let volume = try DatCodec.decode(raw, geometry: geometry)
        #expect(DatCodec.encode(volume).bytes == raw)
    }

    @Test func decodeMatchesAnIndependentBitwiseDecoder() throws {
        let url = try Fixtures.url("spikes_a.dat")
        let raw = [UInt8](try Data(contentsOf: url))
        let volume = try DatCodec.decode(raw, geometry: geometry)
        let (h, w) = (geometry.height, geometry.width)
        for t in [0, 17, 39] {
            for y in 0..<h {
                for x in 0..<w {
                    let p = (h - 1 - y) * w + x
                    let bit = (raw[t * geometry.bytesPerFrame + p / 8] >> UInt8(p % 8)) & 1
                    #expect(volume[t, y, x] == bit)
                }
            }
        }
    }

    @Test(arguments: [(8, 8), (36, 52), (5, 8), (3, 24), (250, 400), (1, 8), (7, 40), (9, 13 * 8), (2, 4)])
    func randomVolumesRoundTrip(height: Int, width: Int) throws {
        let geometry = try SpikeGeometry(height: height, width: width)
        var rng = SplitMix64(seed: UInt64(height * 1000 + width))
        for frames in [0, 1, 3] {
            let values = (0..<(frames * geometry.pixelCount)).map { _ in UInt8(rng.next() & 1) }
            let volume = try SpikeVolume(geometry: geometry, frameCount: frames, values: values)
            let packed = volume.packed()
            #expect(packed.count == frames)
            #expect(packed.bytes.count == frames * geometry.bytesPerFrame)
            #expect(packed.unpacked() == volume)
            // And bytes -> volume -> bytes.
            let bytes = (0..<(frames * geometry.bytesPerFrame)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let frames2 = try PackedSpikeFrames(geometry: geometry, bytes: bytes)
            #expect(frames2.unpacked().packed().bytes == bytes)
        }
    }

    @Test func sliceAppendAndRangeAgreeWithWholeDecode() throws {
        let raw = [UInt8](try Data(contentsOf: try Fixtures.url("spikes_a.dat")))
        let all = try PackedSpikeFrames(geometry: geometry, bytes: raw)
        var rebuilt = PackedSpikeFrames(geometry: geometry)
        for t in 0..<all.count {
            rebuilt.append(contentsOf: try PackedSpikeFrames(geometry: geometry, bytes: Array(all.frame(at: t))))
        }
        #expect(rebuilt == all)
        #expect(all.unpacked(range: 5..<12) == all.unpacked().frames(5..<12))
        #expect(try all.slice(5..<12).unpacked() == all.unpacked(range: 5..<12))
        let counted = all.unpacked(range: 3..<9).values.reduce(0) { $0 + Int($1) }
        #expect(try all.slice(3..<9).spikeCount == counted)
    }

    @Test func unpackIntoReusesTheBufferAndMatches() throws {
        let raw = [UInt8](try Data(contentsOf: try Fixtures.url("spikes_a.dat")))
        let all = try PackedSpikeFrames(geometry: geometry, bytes: raw)
        var buffer: [UInt8] = []
        for range in [0..<7, 7..<14, 33..<40, 10..<10, 0..<40] {
            all.unpack(range, into: &buffer)
            #expect(buffer == all.unpacked(range: range).values)
        }
    }

    @Test func volumeSubscriptIsDisplayOrder() throws {
        let geometry = try SpikeGeometry(height: 2, width: 8)
        var values = [UInt8](repeating: 0, count: 16)
        values[0] = 1  // top-left in display order
        let volume = try SpikeVolume(geometry: geometry, frameCount: 1, values: values)
        let bytes = volume.packed().bytes
        // Stored upside down: display row 0 is stored row 1, i.e. byte 1 bit 0.
        #expect(bytes == [0, 1])
        #expect(volume.floats()[0] == 1)
    }

    @Test func byteCountNotWholeFramesIsRejected() throws {
        #expect(throws: SpikeError.self) {
            _ = try PackedSpikeFrames(geometry: geometry, bytes: [UInt8](repeating: 0, count: 235))
        }
        do {
            _ = try DatCodec.decode([UInt8](repeating: 0, count: 470), geometry: geometry)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("470 bytes"))
            #expect(error.description.contains("2 frames + 2 bytes remainder"))
        }
    }
}

@Suite struct GeometryTests {
    @Test(arguments: [(3, 5), (0, 8), (-8, 8), (8, 0), (7, 7)])
    func invalidGeometriesAreRejected(height: Int, width: Int) {
        do {
            _ = try SpikeGeometry(height: height, width: width)
            Issue.record("\(height)x\(width) accepted")
        } catch {
            #expect(error.description.contains("\(height)x\(width)"))
        }
    }

    @Test func notMultipleOfEightNamesTheProduct() {
        do {
            _ = try SpikeGeometry(height: 3, width: 5)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("15"))
            #expect(error.description.contains("multiple of 8"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func derivedSizes() throws {
        let g = try SpikeGeometry(height: 250, width: 400)
        #expect(g.pixelCount == 100_000)
        #expect(g.bytesPerFrame == 12_500)
        #expect(g == SpikeGeometry.camera250x400)
        #expect(SpikeGeometry.goPro.bytesPerFrame == 360 * 640 / 8)
    }
}
