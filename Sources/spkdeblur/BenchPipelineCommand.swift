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
            "Browser viewer: none, idle (a web-view stage, no client) or client (plus a client reading its MJPEG stream, which measures sink-to-client latency)."
    )
    var viewer: String = "none"

    func validate() throws {
        guard ["none", "idle", "client"].contains(viewer) else {
            throw ValidationError("--viewer must be none, idle or client, not '\(viewer)'")
        }
    }

    func run() async throws {
        try await PipelineBenchmark(
            seconds: seconds, rate: rate, fps: fps, height: height, width: width, pacing: pacing, viewer: viewer,
            emit: { print($0) }
        ).run()
    }
}
