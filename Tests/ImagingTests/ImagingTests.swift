import Foundation
import ImageCodecs
import Testing

@testable import Imaging

private func temp(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("img-\(UUID().uuidString)-\(name)")
}

private func gradient(width: Int, height: Int, channels: Int) -> Image {
    var img = Image(width: width, height: height, channels: channels)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels { img[x, y, c] = Float((x * 7 + y * 13 + c * 50) % 256) / 255 }
        }
    }
    return img
}

@Suite struct CodecTests {
    @Test(arguments: [1, 3])
    func pngRoundTripIsExact(channels: Int) throws {
        let img = gradient(width: 37, height: 21, channels: channels)
        let url = temp("a.png")
        defer { try? FileManager.default.removeItem(at: url) }
        try ImageFile.writePNG(img, to: url)
        let back = try ImageFile.read(url)
        #expect(back.channels == channels && back.width == 37 && back.height == 21)
        #expect(back.toUInt8() == img.toUInt8())
    }

    @Test func jpegRoundTripIsClose() throws {
        let img = gradient(width: 64, height: 48, channels: 3).resizedBilinear(width: 64, height: 48)
        let back = try ImageFile.decode(try ImageFile.encodeJPEG(img, quality: 98))
        #expect(back.width == 64 && back.height == 48 && back.channels == 3)
        let meanError = zip(back.pixels, img.pixels).map { abs($0 - $1) }.reduce(0, +) / Float(img.pixels.count)
        #expect(meanError < 0.03)
    }

    @Test func missingFileIsNamed() {
        let error = #expect(throws: ImagingError.self) {
            try ImageFile.read(URL(fileURLWithPath: "/nonexistent/x.png"))
        }
        #expect(error?.description.hasPrefix("/nonexistent/x.png: cannot read") == true)
    }

    @Test func corruptFilesAreRefused() throws {
        #expect(throws: ImagingError.self) { try ImageFile.decode(Array("hello".utf8), name: "t.txt") }
        let png = try ImageFile.encodePNG(gradient(width: 30, height: 30, channels: 3))
        let error = #expect(throws: ImagingError.self) {
            try ImageFile.decode(Array(png.prefix(png.count / 2)), name: "cut.png")
        }
        #expect(error?.description.hasPrefix("cut.png: ") == true)
    }

    @Test func truncatedJPEGIsRefused() throws {
        let jpeg = try ImageFile.encodeJPEG(gradient(width: 40, height: 30, channels: 3))
        let error = #expect(throws: ImagingError.self) {
            try ImageFile.decode(Array(jpeg.prefix(jpeg.count / 2)), name: "cut.jpg")
        }
        #expect(error?.description.hasPrefix("cut.jpg: truncated or corrupt JPEG") == true)
    }

    @Test func eightBitConversionRoundsHalfToEvenLikeNumPy() throws {
        // Values whose float32 product with 255 is exactly k + 0.5.
        let halves = (0..<20).map { (Float($0) + 0.5) / 255 }.filter { (v: Float) in
            let scaled = v * 255
            return scaled.rounded(.down) + 0.5 == scaled
        }
        try #require(halves.count > 10)
        let image = Image(width: halves.count, height: 1, channels: 1, pixels: halves)
        let expected = halves.map { v -> UInt8 in
            let k = UInt8(v * 255)  // truncates k + 0.5 to k
            return k % 2 == 0 ? k : k + 1
        }
        #expect(image.toUInt8() == expected)
        let extremes = Image(width: 4, height: 1, channels: 1, pixels: [-0.2, 1.7, .nan, .infinity])
        #expect(extremes.toUInt8() == [0, 255, 0, 255])
    }
}

@Suite struct ResamplingTests {
    @Test func bilinearMatchesTheAlignCornersFalseFormula() {
        let img = Image(width: 2, height: 1, channels: 1, pixels: [0, 1])
        // out 4 wide: src = (x + 0.5) / 2 - 0.5 -> -0.25 (clamped 0), 0.25, 0.75, 1.25 (neighbour clamped)
        let up = img.resizedBilinear(width: 4, height: 1)
        #expect(up.pixels == [0, 0.25, 0.75, 1])
        let same = gradient(width: 9, height: 5, channels: 3)
        #expect(same.resizedBilinear(width: 9, height: 5) == same)
    }

    @Test func areaDownsampleAveragesBlocks() {
        let img = Image(width: 4, height: 2, channels: 1, pixels: [0, 2, 4, 6, 2, 4, 6, 8])
        #expect(img.downsampledArea(by: 2).pixels == [2, 6])
    }

    @Test func homographyIdentityAndTranslation() {
        let img = gradient(width: 12, height: 8, channels: 3)
        #expect(img.warpedPerspective(homography: [1, 0, 0, 0, 1, 0, 0, 0, 1], width: 12, height: 8) == img)
        let shifted = img.warpedPerspective(homography: [1, 0, 2, 0, 1, 1, 0, 0, 1], width: 12, height: 8)
        #expect(shifted[3, 4, 1] == img[5, 5, 1])
        #expect(shifted[11, 7, 0] == img[11, 7, 0])  // beyond the edge: nearest edge pixel
    }

    @Test func cropGreyAndContactSheet() {
        let img = gradient(width: 10, height: 6, channels: 3)
        let crop = img.cropped(x: 2, y: 1, width: 4, height: 3)
        #expect(crop[0, 0, 2] == img[2, 1, 2])
        let g = img.grey()
        #expect(abs(g[3, 2, 0] - (0.2989 * img[3, 2, 0] + 0.587 * img[3, 2, 1] + 0.114 * img[3, 2, 2])) < 1e-6)
        let sheet = ContactSheet.make([img, crop, img], columns: 2, gap: 2)
        #expect(sheet.width == 2 * 10 + 3 * 2 && sheet.height == 2 * 6 + 3 * 2)
        #expect(sheet[2, 2, 0] == img[0, 0, 0])
        #expect(Image(chw: img.chwPlanes(), width: 10, height: 6, channels: 3) == img)
    }

    /// 4:2:0 JPEGs (the live viewer's) are smaller than 4:4:4 ones and decode to the same
    /// size, close to the source.
    @Test func halfChromaJPEGIsSmallerAndClose() throws {
        let (w, h) = (64, 48)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                rgb[(y * w + x) * 3] = UInt8(x * 4)
                rgb[(y * w + x) * 3 + 1] = UInt8(y * 5)
                rgb[(y * w + x) * 3 + 2] = UInt8((x + y) * 2)
            }
        }
        let full = try ImageFile.encodeJPEG(rgb8: rgb, width: w, height: h, quality: 90, chroma: .full)
        let half = try ImageFile.encodeJPEG(rgb8: rgb, width: w, height: h, quality: 90, chroma: .half)
        #expect(half.count < full.count)
        func error(_ jpeg: [UInt8]) throws -> Float {
            let image = try ImageFile.decode(jpeg)
            #expect(image.width == w && image.height == h && image.channels == 3)
            return zip(image.pixels, rgb).map { abs($0 * 255 - Float($1)) }.reduce(0, +) / Float(rgb.count)
        }
        let (fullError, halfError) = (try error(full), try error(half))
        #expect(halfError < 4 && fullError < 4, "mean errors \(halfError), \(fullError)")
    }
}
