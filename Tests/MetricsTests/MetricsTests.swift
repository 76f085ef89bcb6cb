import Foundation
import Testing

@testable import Metrics

private struct Case: Decodable {
    let name: String
    let height: Int, width: Int, channels: Int
    let psnr: Double, ssim: Double
}

private func fixtures() throws -> [Case] {
    let url = try #require(Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures"))
    struct File: Decodable { let cases: [Case] }
    return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
}

private func floats(_ name: String) throws -> [Float] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "f32", subdirectory: "Fixtures"))
    let data = try Data(contentsOf: url)
    return data.withUnsafeBytes { raw in
        (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }
}

@Test func metricsMatchTheReferenceDefinitions() throws {
    let cases = try fixtures()
    #expect(cases.count == 4)
    for c in cases {
        let a = try floats("\(c.name)_ref"), b = try floats("\(c.name)_test")
        let psnr = ImageMetrics.psnr(a, b)
        let ssim = ImageMetrics.ssim(a, b, width: c.width, height: c.height, channels: c.channels)
        #expect(abs(psnr - c.psnr) < 1e-4, "\(c.name): psnr \(psnr) vs \(c.psnr)")
        #expect(abs(ssim - c.ssim) < 1e-5, "\(c.name): ssim \(ssim) vs \(c.ssim)")
    }
}

@Test func identicalImagesScorePerfectly() throws {
    let a = try floats("case1_ref")
    #expect(ImageMetrics.psnr(a, a) == .infinity)
    #expect(abs(ImageMetrics.ssim(a, a, width: 64, height: 48, channels: 3) - 1) < 1e-12)
}

@Test func metricsAreSymmetric() throws {
    let a = try floats("case1_ref"), b = try floats("case1_test")
    #expect(ImageMetrics.psnr(a, b) == ImageMetrics.psnr(b, a))
    #expect(
        abs(
            ImageMetrics.ssim(a, b, width: 64, height: 48, channels: 3)
                - ImageMetrics.ssim(b, a, width: 64, height: 48, channels: 3)) < 1e-12)
}
