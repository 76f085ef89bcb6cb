import ArgumentParser
import Benchmarks
import Foundation
import SpikeCore

/// `spkdeblur bench zmq`: live spike ingest over tcp loopback, in frames/s and multiples of
/// real time, for several batch sizes.
struct BenchZmqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmq",
        abstract: "Spike stream ingest over ZeroMQ tcp loopback (PUSH -> PULL with decode).",
        discussion: """
            Sends a synthetic spike stream in the wire protocol (docs/protocol.md) from a Swift \
            PUSH socket, and from tools/zmq_publisher.py (pyzmq) when python3 has pyzmq, to a \
            Swift PULL receiver that decodes and counts every message. Prints frames/s and the \
            multiple of real time at the spike rate for each batch size. Timings depend on the \
            load of the machine.
            """)

    @Option(help: "Spike frame height.") var height = 250
    @Option(help: "Spike frame width.") var width = 400
    @Option(help: "Spike rate in Hz (real time).") var rate = 20_000.0
    @Option(help: "Frames sent per run.") var frames = 20_000
    @Option(help: "Frames per message, comma separated.") var batches = "1,10,100"
    @Option(help: "Receive high-water mark in messages.") var hwm = 1000
    @Flag(help: "Skip the pyzmq publisher runs.") var noPython = false
    @Option(help: "Path of tools/zmq_publisher.py.") var publisher = "tools/zmq_publisher.py"
    var batchSizes: [Int] { batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard (try? SpikeGeometry(height: height, width: width)) != nil else {
            throw ValidationError("--height \(height) x --width \(width): both > 0 and H*W a multiple of 8")
        }
        guard (1...100_000_000).contains(frames), rate >= 1, rate <= 1e9 else {
            throw ValidationError("--frames must be in 1...100000000 and --rate in 1...1e9")
        }
        let sizes = batchSizes
        guard !sizes.isEmpty, sizes.count == batches.split(separator: ",").count, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--batches: expected positive integers separated by commas, got '\(batches)'")
        }
    }

    func run() throws {
        try ZmqBenchmark(
            height: height, width: width, rate: rate, frames: frames, batches: batches, hwm: hwm, noPython: noPython,
            publisher: publisher, emit: { print($0) }
        ).run()
    }
}
