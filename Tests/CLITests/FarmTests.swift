import Foundation
import TestSupport
import Testing

private func farmRecording(_ dir: URL, frames: Int) throws -> URL {
    let scenes = testsFixture("../pipelines/assets/scenes")
    let result = try run([
        "simulate", "--images", scenes.path, "--out", dir.appendingPathComponent("data").path, "--split", "test",
        "--sequences", "1", "--frames-per-sequence", "\(frames)", "--width", "64", "--height", "48", "--seed", "3",
    ])
    #expect(result.status == 0, "\(result.err)")
    return dir.appendingPathComponent("data")
}

/// A replay of the recording through `deblur` (local) or `remote-deblur` (farm).
private func farmPipeline(data: URL, output: URL, deblur: String) -> String {
    let seq = "SIM0000_07_00"
    return """
        pipeline: farm-test
        clock: {speed: max}
        stages:
          spikes: {kind: spike-file, path: \(data.path)/GOPRO_Large_spike_seq/test/\(seq)/spike, height: 24, width: 32, batch: 8}
          rgb: {kind: rgb-folder, path: \(data.path)/GOPRO_Large/test/\(seq)/blur_gamma, exposure_spike_frames: 56}
          windows: {kind: exposure-window, frames: 56, inputs: {spikes: spikes, exposures: rgb}}
          sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
          deblur: {\(deblur), inputs: {fused: sync}}
          sink: {kind: hdf5-sink, path: \(output.path), swmr: false, store_recon: true, inputs: {frames: deblur}}
        """
}

private func startWorker(_ endpoint: String, _ extra: [String] = []) throws -> Process {
    let p = Process()
    p.executableURL = try spkdeblurBinary()
    p.arguments = ["worker", "--connect", endpoint, "--model", "classical", "--threads", "1"] + extra
    p.standardOutput = Pipe()
    p.standardError = Pipe()
    try p.run()
    return p
}

/// Compares two HDF5 outputs dataset by dataset with h5py (and checks the farm's metrics).
private func compare(_ a: URL, _ b: URL, metrics: URL, extra: String = "") throws -> (status: Int32, err: String) {
    let r = try python(
        """
        import sys, json, h5py, numpy as np
        a = h5py.File(sys.argv[1], 'r'); b = h5py.File(sys.argv[2], 'r'); m = json.load(open(sys.argv[3]))
        stage = {s['name']: s for s in m['stages']}
        c = stage['deblur']['counters']
        for name in ['sharp', 'spike_recon', 'blur', 'frame_id', 'spike_center_index', 'exposure_start_ns']:
            if name in a or name in b:
                assert np.array_equal(a[name][:], b[name][:]), name
        assert len(a['frame_id']) == 12, len(a['frame_id'])
        \(extra)
        print(c)
        """, [a.path, b.path, metrics.path])
    return (r.status, r.err + r.out)
}

/// A recording, its local reference output and the paths of a farm run.
private struct FarmCase {
    let dir: URL
    let data: URL
    let local: URL
    let farm: URL
    let metrics: URL

    init(frames: Int = 12) throws {
        dir = try temporaryDirectory("cli-farm")
        data = try farmRecording(dir, frames: frames)
        local = dir.appendingPathComponent("local.h5")
        farm = dir.appendingPathComponent("farm.h5")
        metrics = dir.appendingPathComponent("m.json")
        let yaml = dir.appendingPathComponent("local.yaml")
        try farmPipeline(data: data, output: local, deblur: "kind: deblur, model: classical")
            .write(to: yaml, atomically: true, encoding: .utf8)
        let r = try run(["run", yaml.path, "--quiet"])
        #expect(r.status == 0, "\(r.err)")
    }

    /// Writes the farm pipeline with `deblur` as its deblur stage; returns its path.
    func farmFile(_ deblur: String) throws -> String {
        let yaml = dir.appendingPathComponent("farm.yaml")
        try farmPipeline(data: data, output: farm, deblur: deblur).write(to: yaml, atomically: true, encoding: .utf8)
        return yaml.path
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

@Suite(.serialized, .enabled(if: pythonHas("h5py", "numpy"), "needs h5py, numpy"))
struct FarmTests {
    @Test func twoWorkersGiveTheLocalOutputInOrder() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let (local, farm, metrics) = (c.local, c.farm, c.metrics)
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 18_000...19_490))"
        let workers = try [
            startWorker(endpoint, ["--service-ms", "30"]), startWorker(endpoint, ["--service-ms", "30"]),
        ]
        defer { for w in workers { stopProcess(w) } }
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback: wait")
        let f = try run([
            "run", farmYAML, "--quiet", "--metrics-json", metrics.path,
        ])
        #expect(f.status == 0, "\(f.err)")
        let check = try compare(
            local, farm, metrics: metrics,
            extra: """
                assert c.get('worker1-frames', 0) > 0 and c.get('worker2-frames', 0) > 0, c
                assert c.get('coordinator-frames') == 12, c
                assert c.get('coordinator-socket-cpu-us', 0) > 0 and c.get('coordinator-stage-cpu-us', 0) > 0, c
                assert c['coordinator-cpu-us'] == c['coordinator-socket-cpu-us'] + c['coordinator-stage-cpu-us'], c
                """)
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func aWorkerKilledMidRunLosesNothing() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 19_500...20_990))"
        // A slow worker that is killed while it holds frames, and a steady one.
        let doomed = try startWorker(endpoint, ["--service-ms", "3000", "--credit", "2"])
        let steady = try startWorker(endpoint, ["--service-ms", "40"])
        defer { stopProcess(steady) }
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback: wait, heartbeat_ms: 100")
        let pipeline = Process()
        pipeline.executableURL = try spkdeblurBinary()
        pipeline.arguments = ["run", farmYAML, "--quiet", "--metrics-json", c.metrics.path]
        let err = Pipe()
        pipeline.standardOutput = Pipe()
        pipeline.standardError = err
        try pipeline.run()
        // Kill the slow worker once both have joined and it has had time to take frames.
        var log = ""
        let deadline = Date().addingTimeInterval(60)
        while !log.contains("worker 2 joined"), Date() < deadline {
            log += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        Thread.sleep(forTimeInterval: 0.5)
        kill(doomed.processIdentifier, SIGKILL)
        pipeline.waitUntilExit()
        log += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(pipeline.terminationStatus == 0, "\(log)")
        #expect(log.contains("lost"), "\(log)")
        let check = try compare(
            c.local, c.farm, metrics: c.metrics,
            extra: "assert c.get('lost-workers', 0) == 1 and c.get('redispatched', 0) >= 1, c")
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func aWorkerWithAnotherModelIsRefused() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let (local, farm, metrics) = (c.local, c.farm, c.metrics)
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 29_010...29_990))"
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback: wait")
        // The wrong worker first; the good one only once the refusal is logged, so the run
        // cannot finish before the wrong worker has asked (it would then wait for ever).
        let errors = c.dir.appendingPathComponent("run.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let pipeline = Process()
        pipeline.executableURL = try spkdeblurBinary()
        pipeline.arguments = ["run", farmYAML, "--quiet", "--metrics-json", metrics.path]
        pipeline.standardOutput = FileHandle.nullDevice
        pipeline.standardError = try FileHandle(forWritingTo: errors)
        try pipeline.run()
        let wrong = Process()
        wrong.executableURL = try spkdeblurBinary()
        wrong.arguments = ["worker", "--connect", endpoint, "--model", "passthrough"]
        let wrongErr = Pipe()
        wrong.standardError = wrongErr
        wrong.standardOutput = Pipe()
        try wrong.run()
        var good: Process?
        defer {
            stopProcess(wrong)
            if let good { stopProcess(good) }
            stopProcess(pipeline)
        }
        func log() -> String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(60)
        while !log().contains("refused a worker") && Date() < deadline && pipeline.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(log().contains("refused a worker"), "\(log())")
        good = try startWorker(endpoint)
        pipeline.waitUntilExit()
        #expect(pipeline.terminationStatus == 0, "\(log())")
        wrong.waitUntilExit()
        #expect(wrong.terminationStatus != 0)
        let err = String(decoding: wrongErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.contains("refused"), "\(err)")
        let check = try compare(local, farm, metrics: metrics, extra: "assert c.get('refused-workers', 0) >= 1, c")
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func withNoWorkerTheStageDeblursLocally() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let (local, farm, metrics) = (c.local, c.farm, c.metrics)
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 30_000...30_990))"
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback_ms: 50")
        let f = try run([
            "run", farmYAML, "--quiet", "--metrics-json", metrics.path,
        ])
        #expect(f.status == 0, "\(f.err)")
        let check = try compare(local, farm, metrics: metrics, extra: "assert c.get('local-fallback', 0) == 12, c")
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func curveKeysAdmitKnownWorkersOnly() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let keys = c.dir.appendingPathComponent("keys"), clients = c.dir.appendingPathComponent("clients")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: clients, withIntermediateDirectories: true)
        for name in ["stage", "good", "stranger"] {
            let r = try run(["keys", keys.appendingPathComponent(name).path])
            #expect(r.status == 0, "\(r.err)")
        }
        try FileManager.default.copyItem(
            at: keys.appendingPathComponent("good.pub"), to: clients.appendingPathComponent("good.pub"))
        let mode =
            try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("good.key").path)[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 31_000...31_790))"
        func worker(_ name: String) throws -> Process {
            try startWorker(
                endpoint,
                [
                    "--curve-server-key", keys.appendingPathComponent("stage.pub").path, "--curve-key",
                    keys.appendingPathComponent("\(name).key").path,
                ])
        }
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback: wait, "
                + "curve_secret_key: \(keys.appendingPathComponent("stage.key").path), curve_clients: \(clients.path)")
        // The stranger first; the good worker only once the stranger's refusal is logged, so the
        // run cannot finish before the stranger has knocked.
        let errors = c.dir.appendingPathComponent("run.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let pipeline = Process()
        pipeline.executableURL = try spkdeblurBinary()
        pipeline.arguments = ["run", farmYAML, "--quiet", "--metrics-json", c.metrics.path]
        pipeline.standardOutput = FileHandle.nullDevice
        pipeline.standardError = try FileHandle(forWritingTo: errors)
        try pipeline.run()
        let stranger = try worker("stranger")
        var good: Process?
        defer {
            stopProcess(stranger)
            if let good { stopProcess(good) }
            stopProcess(pipeline)
        }
        let deadline = Date().addingTimeInterval(60)
        func log() -> String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }
        while !log().contains("refused a worker") && Date() < deadline && pipeline.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(log().contains("refused a worker whose key is not authorised"), "\(log())")
        good = try worker("good")
        pipeline.waitUntilExit()
        #expect(pipeline.terminationStatus == 0, "\(log())")
        let check = try compare(
            c.local, c.farm, metrics: c.metrics,
            extra:
                "assert c.get('curve-refused', 0) >= 1 and c.get('worker1-frames', 0) == 12 and 'worker2-frames' not in c, c"
        )
        #expect(check.status == 0, "\(check.err)")
    }

    @Test(.enabled(if: pythonHas("zmq"), "needs pyzmq"))
    func aWorkerReturningMalformedResultsIsDroppedAndItsFramesRedone() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let endpoint = "tcp://127.0.0.1:\(Int.random(in: 31_800...32_700))"
        // A worker written from docs/protocol.md alone that answers every job with garbage.
        let liar = Process()
        liar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        liar.arguments = [
            "python3", "-c",
            """
            import struct, sys, time, zmq
            s = zmq.Context().socket(zmq.DEALER); s.connect(sys.argv[1])
            hdr = lambda kind, job=0: b'WRK1' + struct.pack('<HBBQ', 0x0100, kind, 0, job)
            s.send_multipart([hdr(1), b'classical\\n\\nfp32', struct.pack('<I', 2)])
            while True:
                parts = s.recv_multipart()
                if parts[0][6] == 3:
                    job = struct.unpack('<Q', parts[0][8:16])[0]
                    s.send_multipart([hdr(4, job), b'garbage', b'', b''])
                elif parts[0][6] == 6:
                    break
            """, endpoint,
        ]
        liar.standardOutput = Pipe()
        liar.standardError = Pipe()
        try liar.run()
        let good = try startWorker(endpoint, ["--service-ms", "60"])
        defer {
            stopProcess(good)
            stopProcess(liar)
        }
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"\(endpoint)\", fallback: wait")
        let f = try run(["run", farmYAML, "--quiet", "--metrics-json", c.metrics.path])
        #expect(f.status == 0, "\(f.err)")
        let check = try compare(
            c.local, c.farm, metrics: c.metrics, extra: "assert c.get('malformed-workers', 0) >= 1, c")
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func aNonLoopbackEndpointNeedsAllowRemote() throws {
        let dir = try temporaryDirectory("cli-farm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try farmRecording(dir, frames: 2)
        try farmPipeline(
            data: data, output: dir.appendingPathComponent("x.h5"),
            deblur: "kind: remote-deblur, model: classical, endpoint: \"tcp://0.0.0.0:5999\""
        ).write(to: dir.appendingPathComponent("farm.yaml"), atomically: true, encoding: .utf8)
        let f = try run(["run", dir.appendingPathComponent("farm.yaml").path, "--quiet"])
        #expect(f.status != 0)
        #expect(f.err.contains("allow_remote"), "\(f.err)")
    }
}

/// Runs `ip` with `arguments`; true when it succeeded.
@discardableResult
private func ip(_ arguments: [String]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    p.arguments = arguments
    p.standardOutput = Pipe()
    p.standardError = Pipe()
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// Whether this process may create network namespaces (root with CAP_NET_ADMIN and iproute2).
private let canMakeNamespaces: Bool = {
    let probe = "spkprobe\(getpid())"
    guard ip(["netns", "add", probe]) else { return false }
    ip(["netns", "del", probe])
    return true
}()

/// Coordinator and workers on different hosts: network namespaces joined by veth pairs.
@Suite(
    .serialized,
    .enabled(if: canMakeNamespaces && pythonHas("h5py", "numpy"), "needs root for ip netns, and h5py, numpy"))
struct FarmNamespaceTests {
    @Test func workersOnOtherHostsSurviveAKillAndACutLink() throws {
        let c = try FarmCase()
        defer { c.remove() }
        let tag = String(getpid() % 10_000)
        let (hub, w1, w2) = ("spkhub\(tag)", "spkw1\(tag)", "spkw2\(tag)")
        defer { for ns in [hub, w1, w2] { ip(["netns", "del", ns]) } }
        for ns in [hub, w1, w2] {
            #expect(ip(["netns", "add", ns]))
            ip(["-n", ns, "link", "set", "lo", "up"])
        }
        // hub <-> w1 on 10.77.1.0/24, hub <-> w2 on 10.77.2.0/24.
        for (i, ns) in [(1, w1), (2, w2)] {
            let (a, b) = ("h\(tag)v\(i)", "w\(tag)v\(i)")
            #expect(ip(["link", "add", a, "netns", hub, "type", "veth", "peer", "name", b, "netns", ns]))
            #expect(ip(["-n", hub, "addr", "add", "10.77.\(i).1/24", "dev", a]))
            #expect(ip(["-n", ns, "addr", "add", "10.77.\(i).2/24", "dev", b]))
            ip(["-n", hub, "link", "set", a, "up"])
            ip(["-n", ns, "link", "set", b, "up"])
        }
        let binary = try spkdeblurBinary().path
        func inNamespace(_ ns: String, _ arguments: [String]) throws -> (Process, Pipe) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", ns, binary] + arguments
            let err = Pipe()
            p.standardOutput = Pipe()
            p.standardError = err
            try p.run()
            return (p, err)
        }
        let port = 5570
        func worker(_ ns: String, _ hub: Int, _ serviceMs: String) throws -> Process {
            try inNamespace(
                ns,
                [
                    "worker", "--connect", "tcp://10.77.\(hub).1:\(port)", "--model", "classical", "--threads", "1",
                    "--service-ms", serviceMs,
                ]
            ).0
        }
        // w1: one worker to be killed, one steady; w2: one worker whose link is cut.
        let doomed = try worker(w1, 1, "2000"), steady = try worker(w1, 1, "40"), cutOff = try worker(w2, 2, "2000")
        defer { for p in [doomed, steady, cutOff] { stopProcess(p) } }
        let farmYAML = try c.farmFile(
            "kind: remote-deblur, model: classical, endpoint: \"tcp://0.0.0.0:\(port)\", allow_remote: true, "
                + "fallback: wait, heartbeat_ms: 100")
        let (pipeline, err) = try inNamespace(hub, ["run", farmYAML, "--quiet", "--metrics-json", c.metrics.path])
        var log = ""
        let deadline = Date().addingTimeInterval(60)
        while !log.contains("worker 3 joined"), Date() < deadline {
            log += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        Thread.sleep(forTimeInterval: 0.5)
        kill(doomed.processIdentifier, SIGKILL)  // `ip netns exec` execs the worker: same process
        #expect(ip(["-n", hub, "link", "set", "h\(tag)v2", "down"]))
        pipeline.waitUntilExit()
        log += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(pipeline.terminationStatus == 0, "\(log)")
        let check = try compare(
            c.local, c.farm, metrics: c.metrics,
            extra: "assert c.get('lost-workers', 0) == 2 and c.get('redispatched', 0) >= 2, c")
        #expect(check.status == 0, "\(check.err)\n\(log)")
    }
}
