import Foundation
import TestSupport
import Testing

/// Writes a recording for the CLI: procedural scenes simulated by `spkdeblur simulate`.
private func simulatedRecording(_ dir: URL, frames: Int) throws -> URL {
    let scenes = testsFixture("../pipelines/assets/scenes")
    let result = try run([
        "simulate", "--images", scenes.path, "--out", dir.appendingPathComponent("data").path, "--split", "test",
        "--sequences", "1", "--frames-per-sequence", "\(frames)", "--width", "64", "--height", "48", "--seed", "2",
    ])
    #expect(result.status == 0, "\(result.err)")
    return dir.appendingPathComponent("data")
}

private func pipeline(data: URL, output: URL, speed: String, rate: Int) -> String {
    let seq = "SIM0000_07_00"
    return """
        pipeline: cli-test
        clock: {speed: \(speed)}
        stages:
          spikes: {kind: spike-file, path: \(data.path)/GOPRO_Large_spike_seq/test/\(seq)/spike, height: 24, width: 32, rate_hz: \(rate), batch: 8}
          rgb: {kind: rgb-folder, path: \(data.path)/GOPRO_Large/test/\(seq)/blur_gamma, exposure_spike_frames: 56, rate_hz: \(rate)}
          windows: {kind: exposure-window, frames: 56, rate_hz: \(rate), inputs: {spikes: spikes, exposures: rgb}}
          sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
          deblur: {kind: deblur, model: classical, inputs: {fused: sync}}
          sink: {kind: hdf5-sink, path: \(output.path), inputs: {frames: deblur}}
        """
}

@Suite struct RunCommandTests {
    @Test func validateReportsEveryProblemWithLineNumbers() throws {
        let dir = try temporaryDirectory("cli-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.yaml")
        try """
        stages:
          spikes: {kind: spike-fil, path: x.dat}
          sink: {kind: hdf5-sink, inputs: {frames: nowhere}}
        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try run(["validate", file.path])
        #expect(result.status != 0)
        #expect(
            result.err.contains("bad.yaml:2:18: stage 'spikes': unknown kind 'spike-fil' (did you mean 'spike-file'?)"))
        #expect(result.err.contains("bad.yaml:3:44: stage 'sink': input 'frames' refers to unknown stage 'nowhere'"))
        #expect(result.err.contains("stage 'sink': missing required parameter 'path'"))
    }

    @Test func stagesListsEveryKind() throws {
        let result = try run(["stages"])
        for kind in ["spike-file", "rgb-folder", "exposure-window", "rgb-sync", "deblur", "passthrough", "hdf5-sink"] {
            #expect(result.out.contains("\(kind): "), "\(kind)")
        }
    }

    @Test(.enabled(if: pythonHas("h5py", "numpy"), "needs h5py"))
    func sigintDrainsAndLeavesAValidFileWithEveryAcceptedFrame() throws {
        let dir = try temporaryDirectory("cli-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try simulatedRecording(dir, frames: 30)
        let out = dir.appendingPathComponent("out.h5")
        let file = dir.appendingPathComponent("p.yaml")
        // 2 kHz spike clock: each exposure lasts 28 ms, 30 exposures take ~0.84 s at speed 1.
        try pipeline(data: data, output: out, speed: "1.0", rate: 2000).write(
            to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try spkdeblurBinary()
        process.arguments = ["run", file.path, "--quiet", "--metrics-json", dir.appendingPathComponent("m.json").path]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = Pipe()
        try process.run()
        Thread.sleep(forTimeInterval: 0.4)
        kill(process.processIdentifier, SIGINT)
        let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("stopped early: SIGINT"))
        let check = try python(
            """
            import sys, json, h5py, numpy as np
            f = h5py.File(sys.argv[1], 'r')
            ids = f['frame_id'][:]
            m = json.load(open(sys.argv[2]))
            sink = [s for s in m['stages'] if s['name'] == 'sink'][0]
            assert 0 < len(ids) < 30, len(ids)
            assert list(ids) == list(range(len(ids))), ids
            assert len(ids) == sink['itemsIn'], (len(ids), sink['itemsIn'])
            assert f['sharp'].shape[0] == len(ids)
            print(len(ids))
            """, [out.path, dir.appendingPathComponent("m.json").path])
        #expect(check.status == 0, "\(check.err)")
    }

    @Test(.enabled(if: pythonHas("h5py", "numpy"), "needs h5py"))
    func replayAtMaxSpeedWritesEveryFrame() throws {
        let dir = try temporaryDirectory("cli-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try simulatedRecording(dir, frames: 5)
        let out = dir.appendingPathComponent("out.h5")
        let file = dir.appendingPathComponent("p.yaml")
        try pipeline(data: data, output: out, speed: "max", rate: 20000).write(
            to: file, atomically: true, encoding: .utf8)
        let result = try run(["run", file.path, "--quiet", "--set", "deblur.model=passthrough"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("end-to-end latency"))
        let check = try python(
            """
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            assert list(f['frame_id'][:]) == [0, 1, 2, 3, 4]
            assert list(f['spike_center_index'][:]) == [28 + 56 * i for i in range(5)]
            assert f['sharp'].shape == (5, 48, 64, 3) and f['sharp'].dtype == 'uint8'
            assert 'pipeline' in f.attrs and f.attrs['spike_rate_hz'] == 20000
            """, [out.path])
        #expect(check.status == 0, "\(check.err)")
    }

    /// A full disk under the sink: the run fails (no crash) naming the stage, the file and
    /// the system's reason, and the file holds every frame flushed before the disk filled.
    @Test(
        .enabled(if: SmallDisk.available, "mounting a tmpfs needs root"),
        .enabled(if: pythonHas("h5py", "numpy"), "needs h5py"))
    func aFullDiskStopsTheRunWithAValidFile() throws {
        let dir = try temporaryDirectory("cli-run-full")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try simulatedRecording(dir, frames: 12)
        let disk = try SmallDisk(bytes: 256 << 10)
        defer { disk.cleanup() }
        let out = URL(fileURLWithPath: disk.path("out.h5"))
        let file = dir.appendingPathComponent("p.yaml")
        try pipeline(data: data, output: out, speed: "max", rate: 20000).write(
            to: file, atomically: true, encoding: .utf8)
        // float32 without compression: 48x64 sharp + blur + recon, 84 KiB per frame.
        let result = try run([
            "run", file.path, "--quiet", "--set", "deblur.model=passthrough", "--set", "sink.dtype=float32",
            "--set", "sink.compression=none", "--set", "sink.store_blur=true",
        ])
        #expect(result.status == 1, "\(result.err)")
        #expect(result.err.contains("stage 'sink'") && result.err.contains("No space left on device"), "\(result.err)")
        #expect(disk.names() == ["out.h5"])
        let check = try python(
            """
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            n = len(f['frame_id'])
            assert 0 < n < 12, n
            assert list(f['frame_id'][:]) == list(range(n))
            assert (f['sharp'][n - 1] != 0).any()
            """, [out.path])
        #expect(check.status == 0, "\(check.err)")
    }
}
