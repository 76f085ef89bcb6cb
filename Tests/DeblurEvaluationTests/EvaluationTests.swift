import Deblur
import Foundation
import ImageCodecs
import Imaging
import Testing

@testable import DeblurEvaluation

/// Whether `python3` can import Pillow.
private let hasPillow: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import PIL"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite struct EvaluationTests {
    /// The grey ground truth of the spike reconstruction equals Pillow's `convert('L')`, which
    /// the reference dataset loaders use.
    @Test(.enabled(if: hasPillow, "needs Pillow (python3 -c 'import PIL')"))
    func referenceGreyMatchesPillow() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<(32 * 32 * 3)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let image = Image(uint8: bytes, width: 32, height: 32, channels: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("rgb.png")
        try ImageFile.writePNG(image, to: png)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c",
            "import sys; from PIL import Image; print(' '.join(map(str, Image.open(sys.argv[1]).convert('L').getdata())))",
            png.path,
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let pillow = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap
        { Int($0) }
        let ours = Evaluation.referenceGrey(image).pixels.map { Int(($0 * 255).rounded()) }
        #expect(pillow.count == 32 * 32)
        #expect(ours == pillow)
    }

    /// The report's means are the means of its per-image values, and the JSON round-trips.
    @Test func reportRoundTripsThroughJSON() throws {
        let scores = [ImageScore(name: "a/0", psnr: 20, ssim: 0.5), ImageScore(name: "a/1", psnr: 30, ssim: 0.7)]
        let row = EvaluationRow(name: "blurry", reference: "rgb", psnr: 25, ssim: 0.6, per_image: scores)
        let report = EvaluationReport(
            model: "classical", dataset: "d", layout: "gopro", split: "test", frames: 56,
            samples: 2, seconds_per_sample: 0.1, order: ["blurry"], rows: ["blurry": row])
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: report.json())
        #expect(decoded.rows["blurry"] == row)
        #expect(report.markdownTable().contains("| blurry | 25.000 | 0.6000 |"))
    }
}
