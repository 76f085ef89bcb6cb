import ArgumentParser
import Benchmarks
import Foundation

/// `spkdeblur bench pipeline`: replay throughput, added latency and pacing error of the
/// runtime with a passthrough model stage.
struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Replay a synthetic 250x400 20 kHz stream with 30 fps RGB through passthrough into HDF5.")

    @Option(help: "Seconds of recording to synthesise.") var seconds: Double = 1
    @Option(help: "Spike rate, Hz.") var rate: Double = 20_000
    @Option(help: "RGB frame rate.") var fps: Double = 30
    @Option(help: "Spike sensor height.") var height = 250
    @Option(help: "Spike sensor width.") var width = 400
    @Option(help: "Also replay at speed 1.0 to measure pacing error.") var pacing = true
    @Option(
        help:
            "Browser viewer: none, idle (a web-view stage, no client), client (plus a client reading its MJPEG stream, which measures sink-to-client latency) or browser (headless Chromium showing the page in real time, which measures sink-to-drawn latency in the page)."
    )
    var viewer: String = "none"
    @Option(help: "The viewer's JPEG colour sampling: 420 or 444.") var chroma: String = "420"

    func validate() throws {
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds \(seconds) must be in (0, 3600]") }
        guard rate >= 1, rate <= 1_000_000 else { throw ValidationError("--rate \(rate) must be in 1...1000000") }
        guard fps >= 0.1, fps <= 1000 else { throw ValidationError("--fps \(fps) must be in 0.1...1000") }
        guard (1...16384).contains(height), (1...16384).contains(width), (height * width) % 8 == 0 else {
            throw ValidationError("--height \(height) x --width \(width): each in 1...16384, H*W a multiple of 8")
        }
        guard seconds * rate <= 100_000_000, seconds * fps <= 100_000,
            seconds * rate * Double(height * width) / 8 <= 8e9
        else {
            throw ValidationError(
                "--seconds x --rate must stay within 1e8 spike frames (8 GB packed) and 1e5 RGB frames")
        }
        guard chroma == "420" || chroma == "444" else { throw ValidationError("--chroma must be 420 or 444") }
        guard ["none", "idle", "client", "browser"].contains(viewer) else {
            throw ValidationError("--viewer must be none, idle, client or browser, not '\(viewer)'")
        }
    }

    func run() async throws {
        try await PipelineBenchmark(
            seconds: seconds, rate: rate, fps: fps, height: height, width: width, pacing: pacing, viewer: viewer,
            chroma: chroma,
            emit: { print($0) }
        ).run()
    }
}
