import Foundation
import SpikeCore
import Synchronization
import WireProtocol
import ZeroMQ

/// The benchmark behind `spkdeblur bench zmq`: live spike ingest over tcp loopback, in frames/s and multiples of
/// real time, for several batch sizes.
public struct ZmqBenchmark: Sendable {
    public var height: Int
    public var width: Int
    public var rate: Double
    public var frames: Int
    public var batches: String
    public var hwm: Int
    public var noPython: Bool
    public var publisher: String
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        height: Int = 250, width: Int = 400, rate: Double = 20_000.0, frames: Int = 20_000,
        batches: String = "1,10,100", hwm: Int = 1000, noPython: Bool = false,
        publisher: String = "tools/zmq_publisher.py", emit: @escaping @Sendable (String) -> Void
    ) {
        self.height = height
        self.width = width
        self.rate = rate
        self.frames = frames
        self.batches = batches
        self.hwm = hwm
        self.noPython = noPython
        self.publisher = publisher
        self.emit = emit
    }

    var batchSizes: [Int] { batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    public func run() throws {
        let geometry = try SpikeGeometry(height: height, width: width)
        let python = !noPython && Self.hasPyzmq() && FileManager.default.fileExists(atPath: publisher)
        emit(
            "spkdeblur bench zmq: \(height)x\(width) at \(Int(rate)) Hz, \(frames) frames per run over tcp loopback "
                + "(\(geometry.bytesPerFrame) bytes/frame, \(String(format: "%.0f", Double(geometry.bytesPerFrame) * rate / 1e6)) MB/s at real time)"
        )
        if !noPython && !python {
            emit("  (pyzmq publisher runs skipped: python3 with pyzmq and numpy, or \(publisher), not found)")
        }
        emit("  sender         batch   frames/s    x real time   MB/s   lost  malformed")
        for batch in batchSizes {
            let r = try swiftRun(geometry: geometry, batch: batch)
            report("swift PUSH", batch, r)
            if python {
                let p = try pythonRun(batch: batch)
                report("pyzmq PUSH", batch, p)
            }
        }
    }

    struct RunResult {
        var frames: UInt64
        var seconds: Double
        var counters: StreamDecoder.Counters
    }

    func report(_ sender: String, _ batch: Int, _ r: RunResult) {
        let fps = Double(r.frames) / r.seconds
        let mbps = fps * Double(height * width / 8) / 1e6
        emit(
            String(
                format: "  %@ %6d %11.0f %11.1fx %8.0f %6llu %6llu",
                sender.padding(toLength: 14, withPad: " ", startingAt: 0),
                batch, fps, fps / rate, mbps, r.counters.lostFrames, r.counters.malformedTotal))
    }

    /// A receiver that decodes and remembers when the first and last frames arrived.
    final class Sink: Sendable {
        struct State {
            var decoder = StreamDecoder()
            var first: ContinuousClock.Instant?
            var last: ContinuousClock.Instant?
        }
        let state = Mutex(State())
        let done = DispatchSemaphore(value: 0)
        let expectedFrames: UInt64

        init(expectedFrames: UInt64) { self.expectedFrames = expectedFrames }

        func handle(_ message: Message) -> ReceiveLoop.Action {
            let now = ContinuousClock.now
            let finished = state.withLock { s -> Bool in
                if s.first == nil { s.first = now }
                _ = s.decoder.decode(message.parts)
                s.last = now
                let c = s.decoder.counters
                return c.spikeFrames + c.lostFrames >= expectedFrames
            }
            if finished {
                done.signal()
                return .stop
            }
            return .continue
        }
    }

    func receiver(_ context: Context, expecting frames: UInt64) throws -> (ReceiveLoop, Sink) {
        let sink = Sink(expectedFrames: frames)
        let loop = try ReceiveLoop(
            context: context,
            configuration: .init(attach: .bind("tcp://127.0.0.1:*"), receiveHighWaterMark: hwm)
        ) { sink.handle($0) }
        return (loop, sink)
    }

    func swiftRun(geometry: SpikeGeometry, batch: Int) throws -> RunResult {
        let context = try Context()
        let (loop, sink) = try receiver(context, expecting: UInt64(frames))
        // A pool of distinct random frames, cycled.
        var rng = SystemRandomNumberGenerator()
        let pool = 256
        let poolBytes = (0..<(pool * geometry.bytesPerFrame)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let push = try Socket(context, type: .push)
        try push.setSendHighWaterMark(hwm)
        try push.connect(loop.endpoint)
        let start = ContinuousClock.now
        var first = 0
        var seq: UInt64 = 0
        while first < frames {
            let count = min(batch, frames - first)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count * geometry.bytesPerFrame)
            for f in first..<first + count {
                let p = f % pool
                bytes.append(contentsOf: poolBytes[p * geometry.bytesPerFrame..<(p + 1) * geometry.bytesPerFrame])
            }
            let message = SpikeMessage(
                frames: try PackedSpikeFrames(geometry: geometry, bytes: bytes), sequence: seq,
                firstFrameIndex: UInt64(first), spikeRateHz: rate)
            guard try push.send(parts: message.encoded()) == .sent else {
                throw BenchmarkError("bench zmq: send to \(loop.endpoint) did not complete")
            }
            seq += 1
            first += count
        }
        guard sink.done.wait(timeout: .now() + 120) == .success else {
            loop.stop()
            throw BenchmarkError("bench zmq: receiver did not get all \(frames) frames within 120 s")
        }
        let end = sink.state.withLock { $0.last } ?? ContinuousClock.now
        loop.wait()
        push.close()
        let counters = sink.state.withLock { $0.decoder.counters }
        return RunResult(frames: counters.spikeFrames, seconds: Self.seconds(end - start), counters: counters)
    }

    func pythonRun(batch: Int) throws -> RunResult {
        let context = try Context()
        let (loop, sink) = try receiver(context, expecting: UInt64(frames))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", publisher, "--endpoint", loop.endpoint, "--synthetic", "\(frames)", "--height", "\(height)",
            "--width", "\(width)", "--rate", "\(rate)", "--batch", "\(batch)", "--sndhwm", "\(hwm)",
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard sink.done.wait(timeout: .now() + 30) == .success else {
            loop.stop()
            throw BenchmarkError(
                "bench zmq: pyzmq publisher (exit \(process.terminationStatus)) did not deliver \(frames) frames")
        }
        loop.wait()
        // Publisher start-up (python, numpy) is excluded: first to last received message.
        let (first, last, counters) = sink.state.withLock { ($0.first, $0.last, $0.decoder.counters) }
        guard let first, let last else { throw BenchmarkError("bench zmq: nothing received from pyzmq") }
        // One batch arrives before `first`; count frames after it.
        let timed = counters.spikeFrames - UInt64(min(batch, frames))
        return RunResult(frames: max(timed, 1), seconds: max(Self.seconds(last - first), 1e-9), counters: counters)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func hasPyzmq() -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import zmq, numpy"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
