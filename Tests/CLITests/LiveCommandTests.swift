import Foundation
import TestSupport
import Testing

private func livePipeline(endpoint: String, output: String) -> String {
    """
    pipeline: live-test
    clock: {speed: max, live: true}
    stages:
      spikes: {kind: zmq-spikes, endpoint: \(endpoint), hwm: 100000, idle_timeout_ms: 1500}
      rgb: {kind: zmq-rgb, endpoint: \(endpoint), idle_timeout_ms: 1500}
      windows: {kind: exposure-window, frames: 56, timeout_ms: 3000, inputs: {spikes: spikes, exposures: rgb}}
      sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
      deblur: {kind: passthrough, inputs: {fused: sync}}
      sink: {kind: hdf5-sink, path: \(output), inputs: {frames: deblur}}
    """
}

private func startPipeline(_ file: URL, metrics: URL) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = try spkdeblurBinary()
    process.arguments = ["run", file.path, "--quiet", "--metrics-json", metrics.path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    try process.run()
    return (process, out)
}

@Suite(.serialized) struct LiveCommandTests {
    @Test(.enabled(if: pythonHas("zmq", "numpy", "h5py"), "needs pyzmq, numpy, h5py"))
    func pyzmqPublisherFeedsTheLivePipelineWithLossAndMalformedMessages() throws {
        let dir = try temporaryDirectory("cli-live")
        defer { try? FileManager.default.removeItem(at: dir) }
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 21_000...29_000))"
        let out = dir.appendingPathComponent("live.h5"), metrics = dir.appendingPathComponent("m.json")
        let file = dir.appendingPathComponent("live.yaml")
        try livePipeline(endpoint: endpoint, output: out.path).write(to: file, atomically: true, encoding: .utf8)
        let (pipeline, _) = try startPipeline(file, metrics: metrics)
        // 10 exposures of 56 spike frames; spike message 20 (frames 160..167, inside exposure 2) is lost.
        let publisher = try Python.process([
            testsFixture("../tools/zmq_publisher.py").path, "--endpoint", endpoint, "--bind",
            "--socket", "pub", "--synthetic", "560", "--height", "24", "--width", "32", "--batch", "8",
            "--rgb-every", "56", "--speed", "4", "--sndhwm", "100000", "--warmup", "1.0", "--drop", "20", "--malformed",
            "zeroFrames,packedSizeMismatch",
        ])
        #expect(publisher.status == 0, "\(publisher.err)")
        pipeline.waitUntilExit()
        #expect(pipeline.terminationStatus == 0)
        let check = try python(
            """
            import sys, json, h5py
            f = h5py.File(sys.argv[1], 'r'); m = json.load(open(sys.argv[2]))
            ids = list(f['frame_id'][:])
            stage = {s['name']: s for s in m['stages']}
            assert ids == [0, 1, 3, 4, 5, 6, 7, 8, 9], ids
            assert stage['spikes']['counters']['lost-messages'] == 1, stage['spikes']
            assert stage['spikes']['counters']['malformed'] == 2, stage['spikes']
            assert list(f['spike_center_index'][:]) == [28 + 56 * i for i in ids]
            print('ok')
            """, [out.path, metrics.path])
        #expect(check.status == 0, "\(check.err)")
    }

    @Test(.enabled(if: pythonHas("h5py"), "needs h5py"))
    func cameraEmulatorFeedsTheLivePipeline() throws {
        let dir = try temporaryDirectory("cli-live")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenes = testsFixture("../pipelines/assets/scenes")
        let sim = try run([
            "simulate", "--images", scenes.path, "--out", dir.appendingPathComponent("data").path, "--split", "test",
            "--sequences", "1", "--frames-per-sequence", "4", "--width", "64", "--height", "48",
        ])
        #expect(sim.status == 0, "\(sim.err)")
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 21_000...29_000))"
        let out = dir.appendingPathComponent("live.h5"), metrics = dir.appendingPathComponent("m.json")
        let file = dir.appendingPathComponent("live.yaml")
        try livePipeline(endpoint: endpoint, output: out.path).write(to: file, atomically: true, encoding: .utf8)
        let (pipeline, _) = try startPipeline(file, metrics: metrics)
        let seq = dir.appendingPathComponent("data").path
        let camera = try run([
            "camera", "--spikes", "\(seq)/GOPRO_Large_spike_seq/test/SIM0000_07_00/spike", "--height", "24", "--width",
            "32",
            "--rgb", "\(seq)/GOPRO_Large/test/SIM0000_07_00/blur_gamma", "--exposure-spike-frames", "56",
            "--bind", endpoint, "--speed", "4", "--batch", "8", "--wait-ms", "800",
        ])
        #expect(camera.status == 0, "\(camera.err)")
        #expect(camera.out.contains("sent 224 spike frames"))
        pipeline.waitUntilExit()
        #expect(pipeline.terminationStatus == 0)
        let check = try python(
            """
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            assert list(f['frame_id'][:]) == [0, 1, 2, 3], list(f['frame_id'][:])
            assert f['sharp'].shape == (4, 48, 64, 3)
            """, [out.path])
        #expect(check.status == 0, "\(check.err)")
    }
}

@Suite(.serialized) struct SlowConsumerTests {
    @Test(.enabled(if: pythonHas("zmq", "numpy", "h5py"), "needs pyzmq, numpy, h5py"))
    func aSlowModelStageDropsWindowsByPolicyWhileIngestLosesNothing() throws {
        let dir = try temporaryDirectory("cli-slow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 21_000...29_000))"
        let out = dir.appendingPathComponent("slow.h5"), metrics = dir.appendingPathComponent("m.json")
        let file = dir.appendingPathComponent("slow.yaml")
        try """
        clock: {speed: max, live: true}
        stages:
          spikes: {kind: zmq-spikes, endpoint: \(endpoint), hwm: 100000, idle_timeout_ms: 1500}
          rgb: {kind: zmq-rgb, endpoint: \(endpoint), idle_timeout_ms: 1500}
          windows: {kind: exposure-window, frames: 56, timeout_ms: 3000, inputs: {spikes: spikes, exposures: rgb}}
          sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
          model: {kind: passthrough, delay_ms: 150, inputs: {fused: {from: sync, capacity: 1, policy: drop-oldest}}}
          sink: {kind: hdf5-sink, path: \(out.path), inputs: {frames: model}}
        """.write(to: file, atomically: true, encoding: .utf8)
        let (process, _) = try startPipeline(file, metrics: metrics)
        // 20 exposures at 2x real time (28 ms apart): far faster than the 150 ms model.
        let publisher = try Python.process([
            testsFixture("../tools/zmq_publisher.py").path, "--endpoint", endpoint, "--bind",
            "--socket", "pub", "--synthetic", "1120", "--height", "24", "--width", "32",
            "--batch", "8", "--rgb-every", "56", "--speed", "2", "--sndhwm", "100000", "--warmup", "1.0",
        ])
        #expect(publisher.status == 0, "\(publisher.err)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let check = try python(
            """
            import sys, json, h5py
            f = h5py.File(sys.argv[1], 'r'); m = json.load(open(sys.argv[2]))
            stage = {s['name']: s for s in m['stages']}
            edge = [e for e in m['edges'] if e['name'].endswith('model.fused')][0]
            ids = list(f['frame_id'][:])
            assert stage['spikes']['counters']['lost-messages'] == 0, stage['spikes']
            assert stage['windows']['itemsOut'] == 20, stage['windows']
            assert edge['dropped'] > 0 and len(ids) + edge['dropped'] == 20, (edge, ids)
            assert ids == sorted(ids) and ids[-1] == 19, ids
            print(len(ids), edge['dropped'])
            """, [out.path, metrics.path])
        #expect(check.status == 0, "\(check.err)")
    }
}
