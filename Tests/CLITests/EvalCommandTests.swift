import Foundation
import Tensor
import Testing

/// End to end: `simulate` makes a tiny Spk-GoPro-layout dataset, `eval` scores it, `deblur`
/// runs on one sample.
@Suite struct EvalCommandTests {
    /// Writes two procedural 128x128 source images (coloured discs on grey) with Pillow.
    static func sourceImages(in dir: URL) throws {
        let made = try python(
            """
            import sys, numpy as np
            from PIL import Image
            rng = np.random.default_rng(1)
            y, x = np.mgrid[0:128, 0:128].astype(float)
            for i in range(2):
                img = np.zeros((128, 128, 3)) + 0.2
                for k in range(12):
                    cx, cy = rng.uniform(0, 128, 2); r = rng.uniform(6, 20)
                    img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0.1, 0.9, 3)
                Image.fromarray((img * 255).round().astype(np.uint8)).save(f'{sys.argv[1]}/src{i}.png')
            """, [dir.path])
        #expect(made.status == 0, "\(made.err)")
    }

    /// A dataset of 2 sequences x 3 blurry frames at 64x64 (spikes 32x32, 56 frames each):
    /// fast pans, where spikes can beat the blurry frame.
    static func dataset(in dir: URL) throws -> URL {
        let images = dir.appendingPathComponent("images"), root = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try sourceImages(in: images)
        let sim = try run([
            "simulate", "--images", images.path, "--out", root.path, "--split", "test",
            "--frames-per-sequence", "3", "--width", "64", "--height", "64", "--max-speed", "8",
            "--seed", "2",
        ])
        #expect(sim.status == 0, "\(sim.err)")
        return root
    }

    /// Reads width and height from a PNG's IHDR chunk.
    static func pngSize(_ path: String) throws -> (width: Int, height: Int) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(
            bytes.count > 24 && bytes[1] == 0x50 && bytes[2] == 0x4E && bytes[3] == 0x47, "\(path) is not a PNG")
        func be32(_ o: Int) -> Int { bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    @Test(.enabled(if: pythonHas("numpy", "PIL"), "needs numpy and Pillow"))
    func classicalEvaluationReportsAndBeatsBlurry() throws {
        let dir = try temporaryDirectory("cli-eval")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try Self.dataset(in: dir)
        let report = dir.appendingPathComponent("r.json"), markdown = dir.appendingPathComponent("r.md")
        let save = dir.appendingPathComponent("saved")
        let result = try run([
            "eval", "--dataset", root.path, "--layout", "gopro", "--model", "classical",
            "--report", report.path, "--markdown", markdown.path, "--save", save.path,
        ])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.contains("6/6 frames"), "progress lines: \(result.err)")
        #expect(result.out.contains("classical") && result.out.contains("blurry"))

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        let rows = try #require(json["rows"] as? [String: [String: Any]])
        #expect(json["order"] as? [String] == ["blurry", "classical", "spike_recon"])
        #expect(json["samples"] as? Int == 6)
        for name in ["blurry", "classical", "spike_recon"] {
            let row = try #require(rows[name], "row \(name)")
            let perImage = try #require(row["per_image"] as? [[String: Any]])
            #expect(perImage.count == 6, "\(name)")
            let psnrs = perImage.compactMap { $0["psnr"] as? Double }
            #expect(psnrs.count == 6)
            let mean = try #require(row["psnr"] as? Double)
            #expect(abs(mean - psnrs.reduce(0, +) / 6) < 1e-9, "\(name) mean PSNR")
            let ssim = try #require(row["ssim"] as? Double)
            #expect(ssim > 0 && ssim <= 1, "\(name) SSIM \(ssim)")
        }
        let blurryPSNR = try #require(rows["blurry"]?["psnr"] as? Double)
        let classicalPSNR = try #require(rows["classical"]?["psnr"] as? Double)
        #expect(classicalPSNR > blurryPSNR + 0.5, "classical \(classicalPSNR) dB vs blurry \(blurryPSNR) dB")

        // Independent recomputation of one blurry score: scikit-image's PSNR on the PNGs.
        let first = try #require((rows["blurry"]?["per_image"] as? [[String: Any]])?.first)
        let name = try #require(first["name"] as? String)
        let parts = name.split(separator: "/").map(String.init)
        let seq = root.appendingPathComponent("GOPRO_Large/test").appendingPathComponent(parts[0])
        let check = try python(
            """
            import sys, numpy as np
            from PIL import Image
            a = np.asarray(Image.open(sys.argv[1]).convert('RGB'), dtype=np.float32) / 255
            b = np.asarray(Image.open(sys.argv[2]).convert('RGB'), dtype=np.float32) / 255
            d = a - b
            print(repr(float(10 * np.log10(1 / np.mean(d * d, dtype=np.float64)))))
            """,
            [
                seq.appendingPathComponent("sharp/\(parts[1]).png").path,
                seq.appendingPathComponent("blur_gamma/\(parts[1]).png").path,
            ])
        #expect(check.status == 0, "\(check.err)")
        let expected = try #require(Double(check.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let got = try #require(first["psnr"] as? Double)
        #expect(abs(got - expected) < 1e-9, "blurry PSNR \(got) vs numpy \(expected)")

        // Markdown: the table and linked contact sheets exist; results were saved.
        let text = try String(contentsOf: markdown, encoding: .utf8)
        #expect(text.contains("| classical |") && text.contains("| blurry |"))
        let sheet = dir.appendingPathComponent("r_crops/000.png")
        #expect(text.contains("r_crops/000.png"))
        let size = try Self.pngSize(sheet.path)
        #expect(size == (4 * 64 + 5 * 4, 64 + 2 * 4), "contact sheet \(size)")
        #expect(try Self.pngSize(save.appendingPathComponent("\(name).png").path) == (64, 64))
    }

    @Test(.enabled(if: pythonHas("numpy", "PIL"), "needs numpy and Pillow"))
    func deblurOneImageClassicalAndTinyNetwork() throws {
        let dir = try temporaryDirectory("cli-deblur")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try Self.dataset(in: dir)
        let seq = try #require(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("GOPRO_Large/test").path)
                .sorted().first)
        let blur = root.appendingPathComponent("GOPRO_Large/test/\(seq)/blur_gamma/000001.png").path
        let dat = root.appendingPathComponent("GOPRO_Large_spike_seq/test/\(seq)/spike/000001.dat").path

        // Classical: the output is the RGB size.
        let out = dir.appendingPathComponent("c.png").path
        let classical = try run([
            "deblur", "--blur", blur, "--spikes", dat, "--height", "32", "--width", "32",
            "--center", "28", "--out", out, "--model", "classical",
        ])
        #expect(classical.status == 0, "\(classical.err)")
        #expect(classical.out.hasPrefix("classical:"), "\(classical.out)")
        #expect(try Self.pngSize(out) == (64, 64))

        // A window out of range: one line naming the file.
        let bad = try run([
            "deblur", "--blur", blur, "--spikes", dat, "--height", "32", "--width", "32",
            "--center", "10", "--out", out, "--model", "classical",
        ])
        #expect(bad.status != 0)
        let errorLines = bad.err.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == 1 && errorLines[0].contains(dat) && errorLines[0].contains("outside"), "\(bad.err)")
        let missing = try run([
            "deblur", "--blur", dir.appendingPathComponent("none.png").path, "--spikes", dat,
            "--height", "32", "--width", "32", "--center", "28", "--out", out, "--model", "classical",
        ])
        #expect(missing.status != 0 && missing.err.contains("none.png: image not found"), "\(missing.err)")

        // The tiny fixture network (S_in_chs 8) on a 128x128 image with 48x48 spikes: the image
        // is resized to 96x96; all three outputs are written at that size.
        let spikes = dir.appendingPathComponent("s48.dat").path
        let made = try python(
            """
            import sys, numpy as np
            np.random.default_rng(3).integers(0, 256, 20 * 48 * 48 // 8, dtype=np.uint8).tofile(sys.argv[1])
            """, [spikes])
        #expect(made.status == 0, "\(made.err)")
        let sharp = dir.appendingPathComponent("n.png").path, recon = dir.appendingPathComponent("nr.png").path
        let quick = dir.appendingPathComponent("nq.png").path
        let network = try run([
            "deblur", "--blur", dir.appendingPathComponent("images/src0.png").path, "--spikes", spikes,
            "--height", "48", "--width", "48", "--center", "10", "--frames", "8",
            "--weights", testsFixture("SpkDeblurNetTests/Fixtures/tiny.pth").path,
            "--config", testsFixture("SpkDeblurNetTests/Fixtures/tiny.json").path,
            "--out", sharp, "--recon", recon, "--quick", quick, "--threads", "1",
        ])
        #expect(network.status == 0, "\(network.err)")
        #expect(network.out.contains("spkdeblurnet: 96x96, spike frames 6..<14"), "\(network.out)")
        for path in [sharp, recon, quick] { #expect(try Self.pngSize(path) == (96, 96), "\(path)") }

        // --precision bf16 where the CPU has it: the same image within bf16 rounding.
        let bf16Sharp = dir.appendingPathComponent("n16.png").path
        let common = [
            "deblur", "--blur", dir.appendingPathComponent("images/src0.png").path, "--spikes", spikes,
            "--height", "48", "--width", "48", "--center", "10", "--frames", "8",
            "--weights", testsFixture("SpkDeblurNetTests/Fixtures/tiny.pth").path,
            "--config", testsFixture("SpkDeblurNetTests/Fixtures/tiny.json").path, "--out", bf16Sharp,
        ]
        let bf16 = try run(common + ["--precision", "bf16"])
        if Precision.bf16.isSupported {
            #expect(bf16.status == 0, "\(bf16.err)")
            let compared = try python(
                """
                import sys, numpy as np
                from PIL import Image
                a, b = (np.asarray(Image.open(p), dtype=np.int16) for p in sys.argv[1:3])
                print(int(np.abs(a - b).max()))
                """, [sharp, bf16Sharp])
            let levels = Int(compared.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            #expect(levels >= 0 && levels <= 8, "bf16 differs from fp32 by \(levels) levels")
        } else {
            #expect(bf16.status != 0 && bf16.err.contains("bf16"), "\(bf16.err)")
        }
        let wrong = try run(common + ["--precision", "fp16"])
        #expect(wrong.status != 0 && wrong.err.contains("fp16"), "\(wrong.err)")
    }
}
