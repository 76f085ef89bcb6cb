import ArgumentParser
import Foundation
import SpkDeblurNet
import Tensor

#if canImport(Glibc)
    import Glibc
#endif

/// `spkdeblur bench model`: seconds per frame of the default model on random weights.
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time the default SpkDeblurNet (random weights) on the CPU.")

    @Option(help: "RGB height.") var height = 500
    @Option(help: "RGB width.") var width = 800
    @Option(help: "Spike frames per window (S_in_chs).") var frames = 56
    @Option(help: "Timed runs (after one warm-up).") var runs = 3
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "Precision: fp32.") var precision = "fp32"
    @Option(help: "Model config JSON instead of the default config.") var config: String?

    func validate() throws {
        guard precision == "fp32" else { throw ValidationError("--precision: only fp32 is implemented on this backend") }
        guard height > 0, width > 0, height % 2 == 0, width % 2 == 0 else {
            throw ValidationError("--height/--width must be positive and even (RGB is twice the spike size)")
        }
    }

    func run() throws {
        var cfg = SpkDeblurNetConfig.published
        if let config {
            cfg = try SpkDeblurNetConfig.decode(json: Data(contentsOf: URL(fileURLWithPath: config)), source: config)
        }
        cfg.S_in_chs = frames
        let model = try SpkDeblurNet(config: cfg, weights: SpkDeblurNet.randomWeights(config: cfg, seed: 7), source: "random")
        var rng = SystemRandomNumberGenerator()
        let blur = Tensor(shape: [1, 3, height, width], data: (0..<(3 * height * width)).map { _ in Float.random(in: 0...1, using: &rng) })
        let spike = Tensor(shape: [1, frames, height / 2, width / 2],
                           data: (0..<(frames * height * width / 4)).map { _ in Float.random(in: 0...1, using: &rng) < 0.2 ? 1 : 0 })
        let tfi = Tensor(shape: [1, 1, height / 2, width / 2], data: [Float](repeating: 0.2, count: height * width / 4))
        let backend = CPUBackend(threads: threads)
        let flops = cfg.flops(height: height, width: width)
        print("spkdeblur bench model: \(height)x\(width), T=\(frames), \(precision), \(backend.threads) threads, "
            + String(format: "%.1f GFLOP (%.1f of them skipped: discarded S anchor layers)", flops.total / 1e9, flops.discarded / 1e9))
        var times: [Double] = []
        for run in 0...runs {
            let start = Date()
            _ = try model(blur: blur, spike: spike, tfi: tfi, backend: backend)
            let t = Date().timeIntervalSince(start)
            if run > 0 { times.append(t) }
            print(String(format: "  %@ %.3f s", run == 0 ? "warm-up" : "run \(run)  ", t))
        }
        let median = times.sorted()[times.count / 2]
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(String(format: "swift-cpu  %@  median %.3f s/frame  %.1f GFLOP/s (reference FLOPs / time)  peak RSS %.0f MiB",
                     precision, median, flops.total / median / 1e9, Double(usage.ru_maxrss) / 1024))
    }
}
