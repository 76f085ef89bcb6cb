import Foundation
import Imaging
import Pipeline
import SpikeCore
import Stages
import Synchronization

/// The benchmark behind `spkdeblur bench farm`: frames/s and CPU per frame through the
/// `remote-deblur` stage's coordinator alone, with stand-in worker processes.
///
/// The pipeline is an in-memory source of ready fused exposures (one prepared frame, sent
/// again and again), the `remote-deblur` stage and a sink that only counts, so that nothing
/// else (files, PNG decoding, windowing, HDF5) limits the rate; the workers are real
/// `spkdeblur worker --model passthrough` processes of this binary, over TCP on loopback.
public struct FarmBenchmark: Sendable {
    /// RGB size; spikes are half of it in each direction.
    public var width: Int
    public var height: Int
    public var frames: Int
    public var workers: [Int]
    /// Stand-in service times (ms per frame; 0 answers at once).
    public var serviceMs: [Double]
    public var credit: Int
    public var repeats: Int
    /// The `spkdeblur` binary whose `worker` command is started.
    public var binary: String
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        width: Int = 800, height: Int = 500, frames: Int = 512, workers: [Int] = [1, 2, 4, 8, 16, 32],
        serviceMs: [Double] = [0, 100], credit: Int = 2, repeats: Int = 3, binary: String,
        emit: @escaping @Sendable (String) -> Void
    ) {
        (self.width, self.height, self.frames, self.workers) = (width, height, frames, workers)
        (self.serviceMs, self.credit, self.repeats, self.binary, self.emit) = (serviceMs, credit, repeats, binary, emit)
    }

    /// One run's numbers.
    struct Run {
        var framesPerSecond: Double
        var coordinatorMs: Double
        var socketMs: Double
    }

    public func run() async throws {
        emit(
            "bench farm: \(width)x\(height) RGB (spikes \(width / 2)x\(height / 2), 56 frames per window), \(frames) frames per run, credit \(credit), medians of \(repeats); rate from the first frame out to the last"
        )
        emit("| workers | service ms | frames/s | ideal | ratio | coordinator CPU ms/frame | of it socket thread |")
        emit("| --- | --- | --- | --- | --- | --- | --- |")
        var port = 7600
        for service in serviceMs {
            for n in workers {
                var runs: [Run] = []
                for _ in 0..<repeats {
                    port = port >= 7999 ? 7600 : port + 1
                    runs.append(try await one(workers: n, serviceMs: service, port: port))
                }
                func median(_ f: (Run) -> Double) -> Double {
                    let v = runs.map(f).sorted()
                    return v[v.count / 2]
                }
                let rate = median(\.framesPerSecond)
                let ideal = service > 0 ? Double(n) * 1000 / service : nil
                emit(
                    String(
                        format: "| %d | %.0f | %.1f | %@ | %@ | %.3f | %.3f |", n, service, rate,
                        ideal.map { String(format: "%.1f", $0) } ?? "-",
                        ideal.map { String(format: "%.2f", rate / $0) } ?? "-", median(\.coordinatorMs),
                        median(\.socketMs)))
            }
        }
    }

    private func one(workers n: Int, serviceMs: Double, port: Int) async throws -> Run {
        let endpoint = "tcp://127.0.0.1:\(port)"
        let processes = try (0..<n).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [
                "worker", "--connect", endpoint, "--model", "passthrough", "--threads", "1", "--service-ms",
                String(serviceMs),
            ]
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        // SIGKILL: a stand-in holds nothing, and a worker still starting up when the run ends
        // may not have its SIGTERM handler yet (and a parent that ignores SIGTERM passes that on).
        defer {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            for p in processes { p.waitUntilExit() }
        }
        // Time for the processes to start and connect (they retry until the stage binds).
        try await Task.sleep(for: .milliseconds(300 + 20 * n))
        let arrivals = Arrivals()
        var registry = StandardStages.registry()
        registry.register(SyntheticFused.kind(frames: frames, width: width, height: height))
        registry.register(Arrivals.kind(arrivals))
        let window = max(32, 2 * n * credit)
        let text = """
            stages:
              source: {kind: bench-fused}
              deblur: {kind: remote-deblur, model: passthrough, endpoint: "\(endpoint)", fallback: wait, credit: \(credit), window: \(window), inputs: {fused: source}}
              sink: {kind: bench-arrivals, inputs: {frames: deblur}}
            """
        let graph = try PipelineDescription(registry: registry).parse(text: text, file: "bench-farm.yaml")
        let report = try await PipelineRunner(graph: graph).run()
        let c = report.stages.first { $0.name == "deblur" }?.counters ?? [:]
        let (count, span) = arrivals.result
        guard count == frames, let done = c["coordinator-frames"], done == frames else {
            throw BenchmarkError("bench farm: \(count) of \(frames) frames arrived")
        }
        return Run(
            framesPerSecond: span > 0 ? Double(count - 1) / span : 0,
            coordinatorMs: Double(c["coordinator-cpu-us"] ?? 0) / 1000 / Double(frames),
            socketMs: Double(c["coordinator-socket-cpu-us"] ?? 0) / 1000 / Double(frames))
    }
}

/// `bench-fused`: one prepared fused exposure (random spikes, a gradient image), sent
/// `frames` times with consecutive ids.
private struct SyntheticFused: Stage {
    let frames: Int
    let item: FusedExposure

    static func kind(frames: Int, width: Int, height: Int) -> StageKind {
        StageKind(
            name: "bench-fused", summary: "benchmark source of ready fused exposures", parameters: [], inputs: [],
            outputs: [PortSpec("fused", Ports.fused)],
            make: { _, _ in
                let geometry = try SpikeGeometry(height: height / 2, width: width / 2)
                var rng = SplitMix64(seed: 7)
                let bytes = (0..<(56 * geometry.bytesPerFrame)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                var image = Image(width: width, height: height, channels: 3)
                for i in 0..<image.pixels.count { image.pixels[i] = Float(i % 251) / 251 }
                let window = ExposureWindow(
                    frameID: 0, centerIndex: 28, spikes: try PackedSpikeFrames(geometry: geometry, bytes: bytes),
                    tfi: [Float](repeating: 0.5, count: geometry.height * geometry.width), exposureStart: 0,
                    exposureEnd: 1, ingestedAt: .zero)
                let rgb = RGBFrame(id: 0, image: image, exposureStart: 0, exposureEnd: 1, ingestedAt: .zero)
                return SyntheticFused(frames: frames, item: FusedExposure(window: window, rgb: rgb, ingestedAt: .zero))
            })
    }

    func run(_ context: StageContext) async throws {
        for i in 0..<frames {
            guard !context.shutdown.isRequested else { return }
            var f = item
            (f.rgb.id, f.window.frameID) = (i, i)
            f.ingestedAt = context.clock.now()
            await context.send("fused", f)
        }
    }
}

/// `bench-arrivals`: counts deblurred frames and times the first and the last.
private final class Arrivals: Sendable {
    private let state = Mutex<(count: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>(
        (0, nil, nil))

    /// Frames and seconds from the first to the last.
    var result: (Int, Double) {
        state.withLock { s in
            guard let a = s.first, let b = s.last else { return (s.count, 0) }
            let d = (b - a).components
            return (s.count, Double(d.seconds) + Double(d.attoseconds) / 1e18)
        }
    }

    func arrived() {
        let now = ContinuousClock.now
        state.withLock { s in
            s.count += 1
            if s.first == nil { s.first = now }
            s.last = now
        }
    }

    struct Sink: Stage {
        let arrivals: Arrivals
        func run(_ context: StageContext) async throws {
            while try await context.receive("frames", as: DeblurredFrame.self) != nil { arrivals.arrived() }
        }
    }

    static func kind(_ arrivals: Arrivals) -> StageKind {
        StageKind(
            name: "bench-arrivals", summary: "benchmark sink that counts", parameters: [],
            inputs: [PortSpec("frames", Ports.deblurred)], outputs: [], make: { _, _ in Sink(arrivals: arrivals) })
    }
}
