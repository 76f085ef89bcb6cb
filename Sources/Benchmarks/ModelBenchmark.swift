import Foundation
import SpikeCore
import SpkDeblurNet
import Tensor

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark behind `spkdeblur bench model`: seconds per frame of the default model on random weights.
public struct ModelBenchmark: Sendable {
    public var height: Int
    public var width: Int
    public var frames: Int
    public var runs: Int
    public var threads: Int?
    public var precision: String
    public var config: String?
    public var peers: Bool
    public var profile: Bool
    public var peerScript: String
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        height: Int = 500, width: Int = 800, frames: Int = 56, runs: Int = 3, threads: Int? = nil,
        precision: String = "fp32", config: String? = nil, peers: Bool = false, profile: Bool = false,
        peerScript: String = "tools/peers/bench_model.py", emit: @escaping @Sendable (String) -> Void
    ) {
        self.height = height
        self.width = width
        self.frames = frames
        self.runs = runs
        self.threads = threads
        self.precision = precision
        self.config = config
        self.peers = peers
        self.profile = profile
        self.peerScript = peerScript
        self.emit = emit
    }

    public func run() throws {
        var cfg = SpkDeblurNetConfig.published
        if let config {
            cfg = try SpkDeblurNetConfig.decode(json: Data(contentsOf: URL(fileURLWithPath: config)), source: config)
        }
        cfg.S_in_chs = frames
        let model = try SpkDeblurNet(
            config: cfg, weights: SpkDeblurNet.randomWeights(config: cfg, seed: 7), source: "random")
        // Seeded inputs: reproducible, and without a getrandom call per value.
        var rng = SplitMix64(seed: 11)
        let blur = Tensor(
            shape: [1, 3, height, width],
            data: (0..<(3 * height * width)).map { _ in Float.random(in: 0...1, using: &rng) })
        let spike = Tensor(
            shape: [1, frames, height / 2, width / 2],
            data: (0..<(frames * height * width / 4)).map { _ in Float.random(in: 0...1, using: &rng) < 0.2 ? 1 : 0 })
        let tfi = Tensor(
            shape: [1, 1, height / 2, width / 2], data: [Float](repeating: 0.2, count: height * width / 4))
        let backend = try CPUBackend(threads: threads, precision: Precision(rawValue: precision) ?? .fp32)
        let flops = cfg.flops(height: height, width: width)
        emit(
            "spkdeblur bench model: \(height)x\(width), T=\(frames), \(precision), \(backend.threads) threads, "
                + "\(backend.kernelInstructionSet) kernels, "
                + String(
                    format: "%.1f GFLOP (%.1f of them skipped: discarded S anchor layers)", flops.total / 1e9,
                    flops.discarded / 1e9))
        var times: [Double] = []
        let pool = BufferPool.shared
        var afterWarmUp = pool.statistics
        var last: SpkDeblurNetOutput?
        for run in 0...runs {
            pool.resetPeak()
            let start = Date()
            last = try model(blur: blur, spike: spike, tfi: tfi, backend: backend)
            let t = Date().timeIntervalSince(start)
            if run > 0 { times.append(t) } else { afterWarmUp = pool.statistics }
            emit(String(format: "  %@ %.3f s", run == 0 ? "warm-up" : "run \(run)  ", t))
        }
        let stats = pool.statistics
        emit(
            String(
                format:
                    "  tensor buffers: peak in use %.0f MiB, %.0f MiB held by the pool, %d new after the warm-up (%d reused)",
                Double(stats.peakLiveBytes) / 1_048_576, Double(stats.pooledBytes + stats.liveBytes) / 1_048_576,
                stats.allocations - afterWarmUp.allocations, stats.reuses - afterWarmUp.reuses))
        let median = times.sorted()[times.count / 2]
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        emit(
            String(
                format: "swift-cpu  %@  median %.3f s/frame  %.1f GFLOP/s (reference FLOPs / time)  peak RSS %.0f MiB",
                precision, median, flops.total / median / 1e9, Double(usage.ru_maxrss) / 1024))
        if backend.precision != .fp32, let last {
            // The reduced precision's error on this input, against an fp32 pass (after timing).
            let reference = try model(blur: blur, spike: spike, tfi: tfi, backend: CPUBackend(threads: threads))
            func errors(_ a: Tensor, _ b: Tensor) -> String {
                let d = zip(a.data, b.data).map { Double(abs($0 - $1)) }
                return String(format: "max %.2e mean %.2e", d.max() ?? 0, d.reduce(0, +) / Double(max(d.count, 1)))
            }
            emit(
                "  \(precision) vs fp32 on this input: sharp \(errors(last.sharp, reference.sharp)), "
                    + "spike_recon \(errors(last.spikeRecon, reference.spikeRecon)), "
                    + "quick_sharp \(errors(last.quickSharp, reference.quickSharp))")
        }
        if profile {
            let profiler = ProfilingBackend(backend)
            let start = Date()
            let cpuStart = ProfilingBackend<CPUBackend>.processCPUSeconds
            _ = try model(blur: blur, spike: spike, tfi: tfi, backend: profiler)
            let total = Date().timeIntervalSince(start)
            let totalCPU = ProfilingBackend<CPUBackend>.processCPUSeconds - cpuStart
            let entries = profiler.entries
            let covered = entries.map(\.seconds).reduce(0, +)
            let coveredCPU = entries.map(\.cpuSeconds).reduce(0, +)
            emit(
                String(
                    format:
                        "  profile (one run, %.3f s, %.2f cores busy): operation, calls, ms, share of the frame, cores busy",
                    total, totalCPU / total))
            func row(_ name: String, calls: String, seconds: Double, cpu: Double) -> String {
                "    " + name.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + calls.leftPadded(to: 5)
                    + String(
                        format: "  %8.1f  %5.1f%%  %4.2f", seconds * 1e3, 100 * seconds / total,
                        cpu / max(seconds, 1e-9))
            }
            for e in entries { emit(row(e.operation, calls: "\(e.calls)", seconds: e.seconds, cpu: e.cpuSeconds)) }
            emit(
                row(
                    "(outside backend operations)", calls: "", seconds: total - covered, cpu: totalCPU - coveredCPU))
        }
        if peers { try runPeers(swiftSeconds: median, gflop: flops.total / 1e9) }
    }

    /// Runs the peer script in this same process run and prints every row with its ratio to
    /// the Swift row (peer time / Swift time: above 1 means Swift is faster).
    func runPeers(swiftSeconds: Double, gflop: Double) throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("peers-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", peerScript, "--height", "\(height)", "--width", "\(width)", "--frames", "\(frames)",
                "--threads", "\(threads ?? ProcessInfo.processInfo.activeProcessorCount)", "--runs", "\(runs)",
                "--json", json.path,
            ] + (config.map { ["--config", $0] } ?? [])
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: json.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rows = object["rows"] as? [[String: Any]]
        else {
            emit(
                "peers: \(peerScript) failed or printed no rows (needs python3 with torch; onnxruntime and openvino optional)"
            )
            return
        }
        emit(
            "\nside by side (\(height)x\(width), T=\(frames), median of \(runs)): runtime, precision, s/frame, GFLOP/s, peer time / swift time"
        )
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        emit(
            "  " + pad("spkdeblur", 15) + pad(precision, 6)
                + String(format: "%8.3f  %7.1f  1.00", swiftSeconds, gflop / swiftSeconds))
        for r in rows {
            let name = r["runtime"] as? String ?? "?", prec = r["precision"] as? String ?? "?"
            let t = r["s_per_frame"] as? Double ?? .nan
            emit(
                "  " + pad(name, 15) + pad(prec, 6)
                    + String(format: "%8.3f  %7.1f  %.2f", t, gflop / t, t / swiftSeconds))
        }
    }
}

extension String {
    /// The string right-aligned in `width` columns.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
