import Checkpoint
import Foundation
import HDF5
import Pipeline
import Tensor
import Testing

@testable import Stages

private func run(_ text: String) async throws -> PipelineMetrics.Report {
    let graph = try PipelineDescription(registry: StandardStages.registry()).parse(text: text, file: "test.yaml")
    return try await PipelineRunner(graph: graph).run()
}

@Suite struct ReplayTests {
    @Test(arguments: ["passthrough", "classical"])
    func everyFrameArrivesInOrderWithItsTimestamps(model: String) async throws {
        let rec = try SyntheticRecording(exposures: 6)
        defer { rec.remove() }
        let out = rec.root.appendingPathComponent("out.h5").path
        let report = try await run(rec.pipeline(output: out, model: model))
        #expect(report.stages.first { $0.name == "sink" }?.itemsIn == 6)
        do {
            let f = try File.open(path: out)
            defer { try? f.close() }
            let n = 6, per = 16
            #expect(try f.root.openDataset("frame_id").readInt64() == (0..<n).map(Int64.init))
            #expect(
                try f.root.openDataset("spike_center_index").readInt64() == (0..<n).map { Int64($0 * per + per / 2) })
            let start = try f.root.openDataset("exposure_start_ns").readInt64()
            let end = try f.root.openDataset("exposure_end_ns").readInt64()
            #expect(start == (0..<n).map { Int64(Double($0 * per) / 20_000 * 1e9) })
            #expect(end == (0..<n).map { Int64(Double(($0 + 1) * per) / 20_000 * 1e9) })
            #expect(try f.root.openDataset("sharp").shape() == [n, 32, 48, 3])
            if model == "passthrough" {
                // Passthrough writes the (resized, here same-size) blurry input unchanged.
                #expect(try f.root.openDataset("sharp").readBytes() == (try f.root.openDataset("blur").readBytes()))
            }
        }
    }

    @Test func startAndDurationReplayASlice() async throws {
        let rec = try SyntheticRecording(exposures: 6)
        defer { rec.remove() }
        let out = rec.root.appendingPathComponent("slice.h5").path
        // Exposures are 0.8 ms long: start at 1.6 ms (exposure 2) and replay 2.4 ms (3 exposures).
        let text = rec.pipeline(output: out).replacingOccurrences(
            of: "clock: {speed: max}", with: "clock: {speed: max, start: 0.0016, duration: 0.0024}")
        _ = try await run(text)
        let f = try File.open(path: out)
        defer { try? f.close() }
        #expect(try f.root.openDataset("frame_id").readInt64() == [2, 3, 4])
    }

    @Test func aMismatchedWindowLengthStopsNamingTheStage() async throws {
        // 16-frame windows into the embedded default model (T = 56): refused with the fix.
        let rec = try SyntheticRecording(exposures: 2)
        defer { rec.remove() }
        let out = rec.root.appendingPathComponent("x.h5").path
        let text = rec.pipeline(output: out, model: "spkdeblurnet")
        do {
            _ = try await run(text)
            Issue.record("a 16-frame window reached a 56-frame model")
        } catch {
            let message = "\(error)"
            #expect(message.contains("windows have 16 spike frames, the model takes 56"), "\(message)")
            #expect(message.contains("exposure-window 'frames' to 56"), "\(message)")
        }
    }

    /// Exposure times past what the runtime accepts are refused when the stage is built, by
    /// file and line or by parameter, instead of trapping in the arithmetic that follows.
    @Test(arguments: [
        ("csv", "0,0,9223372036854775807", "ts.csv:2: start_ns/end_ns outside the accepted media times"),
        ("csv", "0,-9223372036854775808,0", "ts.csv:2: start_ns/end_ns outside the accepted media times"),
        ("fps", "4611686018427387904", "exposure times from 4611686018427387904 ns"),
        ("fps", "9223372036854775807", "start_ns"),
        ("spike", "4611686018427387904", "exposure times from 4611686018427387904 ns"),
    ])
    func exposureTimesAtTheEdgesAreRefusedByName(source: String, value: String, expected: String) throws {
        let rec = try SyntheticRecording(exposures: 2)
        defer { rec.remove() }
        let csv = rec.root.appendingPathComponent("ts.csv")
        try "frame,start_ns,end_ns\n\(value)\n1,10,20\n".write(to: csv, atomically: true, encoding: .utf8)
        let rgb: String
        switch source {
        case "csv": rgb = "{kind: rgb-folder, path: \(rec.imageDirectory.path), timestamps: \(csv.path)}"
        case "fps": rgb = "{kind: rgb-folder, path: \(rec.imageDirectory.path), fps: 30, start_ns: \(value)}"
        default:
            rgb = "{kind: rgb-folder, path: \(rec.imageDirectory.path), exposure_spike_frames: 16, start_ns: \(value)}"
        }
        let text = rec.pipeline(output: rec.root.appendingPathComponent("x.h5").path).split(separator: "\n")
            .map { $0.hasPrefix("  rgb:") ? "  rgb: \(rgb)" : String($0) }.joined(separator: "\n")
        do {
            let graph = try PipelineDescription(registry: StandardStages.registry()).parse(text: text, file: "t.yaml")
            _ = try PipelineRunner(graph: graph)
            Issue.record("accepted \(source) \(value)")
        } catch {
            let message = "\(error)"
            #expect(message.contains(expected), "\(message)")
            #expect(!message.contains("\n"), "\(message)")
        }
    }

    @Test func missingRecordingIsNamed() async throws {
        let text = """
            stages:
              spikes: {kind: spike-file, path: /nonexistent/rec.dat, height: 16, width: 24}
              rgb: {kind: rgb-folder, path: /nonexistent/rgb}
              windows: {kind: exposure-window, inputs: {spikes: spikes, exposures: rgb}}
              sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
              deblur: {kind: passthrough, inputs: {fused: sync}}
              sink: {kind: hdf5-sink, path: /tmp/never.h5, inputs: {frames: deblur}}
            """
        let error = #expect(throws: PipelineError.self) {
            _ = try PipelineRunner(
                graph: try PipelineDescription(registry: StandardStages.registry()).parse(text: text, file: "t.yaml"))
        }
        #expect(error?.description == "stage 'spikes' failed: /nonexistent/rec.dat: no such file or directory")
    }
}

@Suite struct ModelStageTests {
    /// The tiny reference checkpoint (S_in_chs 8) of the model tests.
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SpkDeblurNetTests/Fixtures")

    static var precisions: [String] { Precision.bf16.isSupported ? ["fp32", "bf16"] : ["fp32"] }

    @Test(arguments: precisions)
    func spkDeblurNetStageRunsInThePipeline(precision: String) async throws {
        // RGB 72x104 (spikes 36x52), the smallest size the tiny model's reflect padding allows.
        let rec = try SyntheticRecording(exposures: 3, framesPerExposure: 16, height: 72, width: 104)
        defer { rec.remove() }
        let out = rec.root.appendingPathComponent("model.h5").path
        var text = rec.pipeline(output: out, model: "spkdeblurnet")
        text = text.replacingOccurrences(of: "\n    frames: 16\n", with: "\n    frames: 8\n")
        text = text.replacingOccurrences(
            of: "model: spkdeblurnet,",
            with:
                "model: spkdeblurnet, weights: \(fixtures.path)/tiny.pth, config: \(fixtures.path)/tiny.json, threads: 2, precision: \(precision),"
        )
        let report = try await run(text)
        #expect(report.stages.first { $0.name == "deblur" }?.itemsOut == 3)
        let f = try File.open(path: out)
        defer { try? f.close() }
        #expect(try f.root.openDataset("frame_id").readInt64() == [0, 1, 2])
        #expect(try f.root.openDataset("sharp").shape() == [3, 72, 104, 3])
        #expect(try f.root.openDataset("spike_recon").shape() == [3, 72, 104])
        // The file records which model made the frames.
        #expect(try f.root.attribute("model_name").stringValue == "spkdeblurnet")
        let sha = try StateDict.sha256(of: fixtures.appendingPathComponent("tiny.pth"))
        #expect(try f.root.attribute("weights_sha256").stringValue == sha)
        #expect(try f.root.attribute("model_config").stringValue?.contains("\"D_embed_dim\":24") == true)
        // The windows are the 8 frames around each exposure's centre frame 16 i + 8.
        #expect(try f.root.openDataset("spike_center_index").readInt64() == [8, 24, 40])
    }

    @Test func unknownPrecisionIsRefusedBeforeRunning() async throws {
        let rec = try SyntheticRecording(exposures: 1, framesPerExposure: 16, height: 72, width: 104)
        defer { rec.remove() }
        let text = rec.pipeline(output: rec.root.appendingPathComponent("p.h5").path, model: "spkdeblurnet")
            .replacingOccurrences(
                of: "model: spkdeblurnet,",
                with: "model: spkdeblurnet, weights: \(fixtures.path)/tiny.pth, precision: fp16,")
        let error = await #expect(throws: (any Error).self) { try await run(text) }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("precision") && message.contains("fp16"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: rec.root.appendingPathComponent("p.h5").path))
    }
}

@Suite struct RGBSyncParameterTests {
    @Test(arguments: ["[0, 0, 0, 0, 0, 0, 0, 0, 0]", "[1, 0, 0, 0, 1, 0, 0, 0, .nan]", "[1, 2, 3, 2, 4, 6, 0, 0, 1]"])
    func degenerateHomographiesAreRefusedBeforeRunning(homography: String) async throws {
        let rec = try SyntheticRecording(exposures: 2)
        defer { rec.remove() }
        let text = rec.pipeline(output: rec.root.appendingPathComponent("h.h5").path).replacingOccurrences(
            of: "sync: {kind: rgb-sync,", with: "sync: {kind: rgb-sync, homography: \(homography),")
        do {
            _ = try await run(text)
            Issue.record("ran with homography \(homography)")
        } catch {
            #expect("\(error)".contains("homography") || "\(error)".contains("finite"), "\(error)")
        }
    }
}
