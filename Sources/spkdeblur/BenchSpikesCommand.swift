import ArgumentParser
import Benchmarks
import Foundation

/// `spkdeblur bench spikes`: decode throughput and TFI time, beside the NumPy reference.
struct BenchSpikesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikes",
        abstract: "Decode throughput of a spike stream and TFI time of a model window, beside NumPy.",
        discussion: """
            Goals: decoding at least 10x real time at 20 kHz on one core, and the TFI of a \
            56-frame 250x400 window under 1 ms. The NumPy numbers come from \
            tools/bench_spikes_numpy.py (np.unpackbits decode, the reference's loop-based middleTFI) \
            when python3 with numpy is available.
            """
    )

    @Option(help: "Spike frame height.")
    var height: Int = 250
    @Option(help: "Spike frame width.")
    var width: Int = 400
    @Option(help: "Frames decoded for the throughput figure.")
    var frames: Int = 4000
    @Option(help: "Frames in the model window (T).")
    var window: Int = 56
    @Option(help: "Spike frame rate in Hz, for the real-time multiple.")
    var rate: Double = 20_000
    @Option(help: "TFI repetitions (the median is reported).")
    var repeats: Int = 50
    @Option(help: "The NumPy baseline script; empty to skip it.")
    var numpyScript: String = "tools/bench_spikes_numpy.py"

    func validate() throws {
        guard (1...65536).contains(height), (1...65536).contains(width),
            Double(frames) * Double(height) * Double(width) / 8 <= 4e9
        else {
            throw ValidationError("--height/--width must be in 1...65536, and the frames at most 4 GB packed")
        }
        guard frames >= window, window >= 2, frames <= 100_000_000, (1...1_000_000).contains(repeats), rate >= 1,
            rate <= 1e9
        else {
            throw ValidationError(
                "need 2 <= window <= frames <= 100000000, repeats in 1...1000000 and a rate in 1...1e9")
        }
    }

    func run() throws {
        try SpikesBenchmark(
            height: height, width: width, frames: frames, window: window, rate: rate, repeats: repeats,
            numpyScript: numpyScript, emit: { print($0) }
        ).run()
    }
}
