import ArgumentParser
import Benchmarks
import Foundation
import Tensor

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
    @Option(
        help:
            "GEMM precision: fp32, or bf16 (AVX-512 BF16 dot products with fp32 sums; needs a CPU with avx512_bf16)."
    )
    var precision = "fp32"
    @Option(help: "Model config JSON instead of the default config.") var config: String?
    @Flag(
        help:
            "Also run the peers (PyTorch, ONNX Runtime, OpenVINO via tools/peers/bench_model.py) on the same size and threads, and print the side-by-side table."
    )
    var peers = false
    @Flag(help: "After the timed runs, one more run timed per operation: a per-stage breakdown.")
    var profile = false
    @Option(help: "The peer script.") var peerScript = "tools/peers/bench_model.py"

    func validate() throws {
        guard let p = Precision(rawValue: precision) else {
            throw ValidationError(
                "--precision: '\(precision)' is not one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard p.isSupported else {
            throw ValidationError(
                "--precision \(p): this CPU lacks AVX512_BF16 (vdpbf16ps); use --precision fp32")
        }
        guard (2...16384).contains(height), (2...16384).contains(width), height % 2 == 0, width % 2 == 0 else {
            throw ValidationError("--height/--width must be even and in 2...16384 (RGB is twice the spike size)")
        }
        guard (1...10_000).contains(frames), (1...10_000).contains(runs) else {
            throw ValidationError("--frames and --runs must be in 1...10000")
        }
    }

    func run() throws {
        try ModelBenchmark(
            height: height, width: width, frames: frames, runs: runs, threads: threads, precision: precision,
            config: config, peers: peers, profile: profile, peerScript: peerScript, emit: { print($0) }
        ).run()
    }
}
