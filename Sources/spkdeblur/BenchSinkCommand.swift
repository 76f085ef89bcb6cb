import ArgumentParser
import Benchmarks
import Foundation
import Recording

/// `spkdeblur bench sink`: recording throughput per compression, beside h5py.
struct BenchSinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "HDF5 sink throughput (frames/s, MB/s) per compression, beside h5py writing the same frames.",
        discussion: """
            Writes smooth image-like RGB uint8 frames, one chunk per frame, in SWMR mode with a \
            flush per frame, with compression none, deflate level 1 and bitshuffle-lz4. Goals: \
            deflate >= 80 frames/s and bitshuffle-lz4 >= 500 frames/s at 500x800, each at least \
            as fast as h5py (single-threaded), with identical content (checked by \
            tools/h5py_sink_bench.py compare).
            """)

    @Option(help: "Frame height.")
    var height: Int = 500
    @Option(help: "Frame width.")
    var width: Int = 800
    @Option(help: "Frames written per run.")
    var frames: Int = 200
    @Option(help: "Distinct frames generated (they repeat).")
    var distinct: Int = 16
    @Option(help: "Comma-separated compressions: none, deflate, deflate:N, bitshuffle-lz4.")
    var compressions: String = "none,deflate,bitshuffle-lz4"
    @Option(help: "The h5py peer script; empty to skip it.")
    var script: String = "tools/h5py_sink_bench.py"
    @Option(help: "Directory for the files (default: a temporary one, removed afterwards).")
    var dir: String?

    func validate() throws {
        guard (1...65536).contains(height), (1...65536).contains(width), height * width <= 100_000_000 else {
            throw ValidationError("--height \(height) x --width \(width): each in 1...65536, at most 1e8 pixels")
        }
        guard (1...1_000_000).contains(frames), (1...10_000).contains(distinct),
            Double(distinct) * Double(height * width) * 3 <= 4e9
        else {
            throw ValidationError("--frames must be in 1...1000000 and --distinct in 1...10000")
        }
        for name in compressions.split(separator: ",") where Compression(parsing: String(name)) == nil {
            throw ValidationError("unknown compression '\(name)' (none, deflate, deflate:N, bitshuffle-lz4)")
        }
    }

    func run() throws {
        try SinkBenchmark(
            height: height, width: width, frames: frames, distinct: distinct, compressions: compressions,
            script: script, dir: dir, emit: { print($0) }
        ).run()
    }
}
