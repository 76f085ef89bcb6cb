import Foundation
import Testing

/// The embedded default model through the commands, on a recording `spkdeblur simulate` makes.
@Suite struct EmbeddedModelCommandTests {
    static func recording(in dir: URL) throws -> URL {
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let scenes = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../pipelines/assets/scenes").standardized
        for name in try FileManager.default.contentsOfDirectory(atPath: scenes.path).sorted().prefix(2) {
            try FileManager.default.copyItem(
                at: scenes.appendingPathComponent(name), to: images.appendingPathComponent(name))
        }
        let root = dir.appendingPathComponent("data")
        let made = try run([
            "simulate", "--images", images.path, "--out", root.path, "--split", "test", "--frames-per-sequence", "2",
            "--width", "128", "--height", "96", "--motion", "handheld", "--seed", "3",
        ])
        #expect(made.status == 0, "\(made.err)")
        return root
    }

    @Test func modelsListsTheDefault() throws {
        let listed = try run(["models"])
        #expect(listed.status == 0, "\(listed.err)")
        #expect(listed.out.hasPrefix("compact48 (default):"), "\(listed.out)")
        #expect(listed.out.contains("sha256:"))
        let json = try run(["models", "--json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        #expect(array.first?["name"] as? String == "compact48")
        #expect((array.first?["sha256"] as? String)?.count == 64)
    }

    @Test func deblurAndEvalUseTheEmbeddedModelWithoutWeights() throws {
        let dir = try temporaryDirectory("cli-embedded")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try Self.recording(in: dir)
        let seq = root.appendingPathComponent("GOPRO_Large/test/SIM0000_07_00")
        let out = dir.appendingPathComponent("sharp.png").path
        let deblurred = try run([
            "deblur", "--blur", seq.appendingPathComponent("blur_gamma/000000.png").path, "--spikes",
            root.appendingPathComponent("GOPRO_Large_spike_seq/test/SIM0000_07_00/spike/000000.dat").path,
            "--height", "48", "--width", "64", "--center", "28", "--out", out,
        ])
        #expect(deblurred.status == 0, "\(deblurred.err)")
        #expect(deblurred.out.hasPrefix("spkdeblurnet:"), "\(deblurred.out)")
        #expect(try EvalCommandTests.pngSize(out) == (128, 96))

        let sheet = dir.appendingPathComponent("sheet.png").path
        let evaluated = try run([
            "eval", "--dataset", root.path, "--layout", "gopro", "--split", "test", "--sheet", sheet, "--sheet-rows",
            "2",
        ])
        #expect(evaluated.status == 0, "\(evaluated.err)")
        #expect(evaluated.out.contains("gain of sharp over blurry:"), "\(evaluated.out)")
        #expect(evaluated.out.contains("gain of sharp over classical:"), "\(evaluated.out)")
        // Four 128x96 panels side by side, two rows (4-pixel gaps around and between).
        #expect(try EvalCommandTests.pngSize(sheet) == (4 * 128 + 5 * 4, 2 * 96 + 3 * 4))
    }

    @Test func anUnknownEmbeddedNameIsOneLine() throws {
        let result = try run([
            "deblur", "--blur", "/nonexistent.png", "--spikes", "/nonexistent.dat", "--height", "48", "--width", "64",
            "--center", "28", "--out", "/tmp/x.png", "--weights", "embedded:nope",
        ])
        #expect(result.status != 0)
        #expect(result.err.contains("no embedded model 'nope'") && result.err.contains("compact48"), "\(result.err)")
        #expect(result.err.split(separator: "\n").count == 1)
    }
}

/// `--set stage.path=REL` resolves against the working directory; paths in the file against the file.
@Suite struct OverridePathTests {
    @Test func weightsGivenWithSetResolveAgainstTheWorkingDirectory() throws {
        let dir = try temporaryDirectory("cli-set-path")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try EmbeddedModelCommandTests.recording(in: dir)
        let seq = "SIM0000_07_00"
        let pipelineDir = dir.appendingPathComponent("pipelines")
        let work = dir.appendingPathComponent("work")
        for d in [pipelineDir, work] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        let yaml = """
            clock: {speed: max}
            stages:
              spikes: {kind: spike-file, path: \(root.path)/GOPRO_Large_spike_seq/test/\(seq)/spike, height: 48, width: 64}
              rgb: {kind: rgb-folder, path: \(root.path)/GOPRO_Large/test/\(seq)/blur_gamma, exposure_spike_frames: 56}
              windows: {kind: exposure-window, frames: 56, inputs: {spikes: spikes.frames, exposures: rgb.frames}}
              sync: {kind: rgb-sync, inputs: {windows: windows.windows, rgb: rgb.frames}}
              deblur: {kind: deblur, inputs: {fused: sync.fused}}
              sink: {kind: hdf5-sink, path: out.h5, inputs: {frames: deblur.frames}}
            """
        let file = pipelineDir.appendingPathComponent("p.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        // The tiny fixture (T = 8) in the working directory: found, then refused for its window.
        try FileManager.default.copyItem(
            at: testsFixture("SpkDeblurNetTests/Fixtures/tiny.weights.safetensors"),
            to: work.appendingPathComponent("w.safetensors"))
        let found = try run(["run", file.path, "--set", "deblur.weights=w.safetensors"], in: work)
        #expect(found.status != 0)
        #expect(found.err.contains("the model takes 8"), "\(found.err)")
        // Only the pipeline's folder has it: not found, and the message names the working directory.
        try FileManager.default.moveItem(
            at: work.appendingPathComponent("w.safetensors"), to: pipelineDir.appendingPathComponent("w.safetensors"))
        let missing = try run(["run", file.path, "--set", "deblur.weights=w.safetensors"], in: work)
        #expect(missing.status != 0)
        #expect(missing.err.contains("work/w.safetensors: weights file not found"), "\(missing.err)")
        // Written in the file, the same relative path resolves against the file's folder.
        try
            (yaml.replacingOccurrences(
                of: "kind: deblur,", with: "kind: deblur, weights: w.safetensors,")).write(
                to: file, atomically: true, encoding: .utf8)
        let inFile = try run(["run", file.path], in: work)
        #expect(inFile.err.contains("the model takes 8"), "\(inFile.err)")
    }
}

/// Extreme command-line values are one-line errors, never a trap.
@Suite struct ExtremeArgumentTests {
    @Test func extremeGeometryAndCentres() throws {
        let dir = try temporaryDirectory("cli-extreme")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try EmbeddedModelCommandTests.recording(in: dir)
        let dat = root.appendingPathComponent("GOPRO_Large_spike_seq/test/SIM0000_07_00/spike/000000.dat").path
        let png = root.appendingPathComponent("GOPRO_Large/test/SIM0000_07_00/blur_gamma/000000.png").path
        let out = dir.appendingPathComponent("o.png").path
        let cases: [[String]] = [
            ["spikes", "info", dat, "--height", "4294967296", "--width", "4294967296"],
            ["spikes", "info", dat, "--height", "48", "--width", "4294967296"],
            [
                "deblur", "--blur", png, "--spikes", dat, "--height", "48", "--width", "64", "--center",
                "9223372036854775807", "--out", out, "--model", "classical",
            ],
            [
                "deblur", "--blur", png, "--spikes", dat, "--height", "4294967296", "--width", "64", "--center", "28",
                "--out", out,
            ],
        ]
        for arguments in cases {
            let result = try run(arguments)
            #expect(result.status == 1, "\(arguments): status \(result.status), \(result.err)")
            #expect(result.err.hasPrefix("Error: "), "\(arguments): \(result.err)")
            #expect(result.err.split(separator: "\n").count == 1, "\(arguments): \(result.err)")
        }
    }

    @Test(arguments: [
        ["--start", "1e300"], ["--start", "nan"], ["--duration", "nan"], ["--duration", "inf"], ["--speed", "1e-300"],
    ])
    func absurdClockOptionsAreRefusedBeforeRunning(option: [String]) throws {
        let demo = testsFixture("../pipelines/demo.yaml").standardized.path
        let result = try run(["run", demo] + option)
        #expect(result.status == 64, "\(option): status \(result.status), \(result.err)")
        #expect(result.err.hasPrefix("Error: \(option[0])"), "\(option): \(result.err)")
    }
}
