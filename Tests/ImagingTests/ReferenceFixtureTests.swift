import Foundation
import ImageCodecs
import Testing

@testable import Imaging

/// `Fixtures/expected.json`, written by `tools/imaging_reference.py`.
private struct Expected: Decodable {
    struct File: Decodable {
        let file: String
        let width: Int, height: Int, channels: Int
        /// PNGs only: 8 or 16.
        let bitDepth: Int?
        let samples: [Int]
    }
    struct Source: Decodable {
        let width: Int, height: Int, channels: Int
        let pixels: [Float]
    }
    struct Resize: Decodable {
        let width: Int, height: Int
        let pixels: [Float]
    }
    struct Area: Decodable {
        let factor: Int
        let pixels: [Float]
    }
    let png: [File]
    let jpeg: [File]
    let source: Source
    let bilinear: [Resize]
    let area: [Area]

    static let shared: Expected? = {
        guard let url = Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url)
        else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(Expected.self, from: data)
    }()
}

private func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct ReferenceFixtureTests {
    @Test func fixturesLoad() throws {
        let expected = try #require(Expected.shared)
        #expect(expected.png.count == 10 && expected.jpeg.count == 2)
    }

    @Test(arguments: Expected.shared?.png ?? [])
    fileprivate func pngSamplesAreWhatPillowReads(_ expected: Expected.File) throws {
        let image = try ImageFile.read(try fixture(expected.file))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.channels == expected.channels, "\(expected.file)")
        let scale: Float = expected.bitDepth == 16 ? 65535 : 255
        let samples = image.pixels.map { Int(($0 * scale).rounded()) }
        #expect(samples == expected.samples, "\(expected.file)")
    }

    @Test(arguments: Expected.shared?.jpeg ?? [])
    fileprivate func jpegSamplesAreWhatPillowDecodes(_ expected: Expected.File) throws {
        let image = try ImageFile.read(try fixture(expected.file))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.channels == expected.channels)
        // Both are libjpeg-turbo with its default islow DCT and fancy upsampling; allow one
        // level for library versions that round a chroma sample differently.
        let differences = zip(image.toUInt8(), expected.samples).map { abs(Int($0) - $1) }
        #expect(differences.max() ?? 0 <= 1, "\(expected.file)")
    }

    @Test func bilinearMatchesPyTorch() throws {
        let expected = try #require(Expected.shared)
        let s = expected.source
        let source = Image(width: s.width, height: s.height, channels: s.channels, pixels: s.pixels)
        #expect(expected.bilinear.count == 5)
        for resize in expected.bilinear {
            let out = source.resizedBilinear(width: resize.width, height: resize.height)
            #expect(out.pixels.count == resize.pixels.count)
            #expect(maxDifference(out.pixels, resize.pixels) < 1e-6, "\(resize.width)x\(resize.height)")
        }
    }

    @Test func areaDownsamplingMatchesPyTorch() throws {
        let expected = try #require(Expected.shared)
        let s = expected.source
        let source = Image(width: s.width, height: s.height, channels: s.channels, pixels: s.pixels)
        #expect(expected.area.count == 2)
        for area in expected.area {
            let out = source.downsampledArea(by: area.factor)
            #expect(out.width == s.width / area.factor && out.height == s.height / area.factor)
            #expect(maxDifference(out.pixels, area.pixels) < 1e-6, "factor \(area.factor)")
        }
    }
}
