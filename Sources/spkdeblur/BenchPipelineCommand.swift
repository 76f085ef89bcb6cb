import ArgumentParser
import Foundation
import ImageCodecs
import Imaging
import Pipeline
import SpikeCore
import Stages

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

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spkdeblur-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("rgb"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let geometry = try SpikeGeometry(height: height, width: width)
        let frames = Int(seconds * rate)
        // A stream of random spikes (10% firing) written in 1000-frame pieces.
        let writer = try DatWriter(path: dir.appendingPathComponent("rec.dat").path, geometry: geometry)
        var rng = SplitMix64(seed: 1)
        let chunk = (0..<(1000 * geometry.bytesPerFrame)).map { _ in
            UInt8(truncatingIfNeeded: rng.next() & rng.next() & rng.next())
        }
        var written = 0
        while written < frames {
            let n = min(1000, frames - written)
            try writer.append(
                PackedSpikeFrames(geometry: geometry, bytes: Array(chunk.prefix(n * geometry.bytesPerFrame))))
            written += n
        }
        try writer.close()
        let rgbCount = Int(seconds * fps)
        let exposure = 0.5 / fps
        var image = Image(width: 2 * width, height: 2 * height, channels: 3)
        for i in 0..<image.pixels.count { image.pixels[i] = Float(i % 251) / 251 }
        let png = try ImageFile.encodePNG(image)
        var csv = "frame,start_ns,end_ns\n"
        for i in 0..<rgbCount {
            try Data(png).write(to: dir.appendingPathComponent("rgb/\(String(format: "%06d", i)).png"))
            let start = Int64(Double(i) / fps * 1e9) + Int64(0.002 * 1e9)
            csv += "\(i),\(start),\(start + Int64(exposure * 1e9))\n"
        }
        try csv.write(to: dir.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        print(
            String(
                format:
                    "bench pipeline: %dx%d spikes at %.0f Hz (%d frames, %.0f MB), %d RGB frames %dx%d at %.0f fps, passthrough, HDF5 without compression",
                height, width, rate, frames, Double(frames * geometry.bytesPerFrame) / 1e6, rgbCount, 2 * width,
                2 * height, fps))
        for speed in pacing ? ["max", "1.0"] : ["max"] {
            let text = """
                clock: {speed: \(speed)}
                stages:
                  spikes: {kind: spike-file, path: \(dir.path)/rec.dat, height: \(height), width: \(width), rate_hz: \(rate), batch: 100}
                  rgb: {kind: rgb-folder, path: \(dir.path)/rgb, timestamps: \(dir.path)/t.csv}
                  windows: {kind: exposure-window, frames: 56, rate_hz: \(rate), inputs: {spikes: {from: spikes, capacity: 64}, exposures: rgb}}
                  sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
                  deblur: {kind: passthrough, inputs: {fused: sync}}
                  sink: {kind: hdf5-sink, path: \(dir.path)/out.h5, compression: none, store_recon: false, inputs: {frames: deblur}}
                """
            let graph = try PipelineDescription(registry: StandardStages.registry()).parse(
                text: text, file: "bench.yaml")
            let report = try await PipelineRunner(graph: graph).run()
            let done = report.stages.first { $0.name == "sink" }?.itemsIn ?? 0
            let t = report.wallSeconds
            print(
                String(
                    format:
                        "  speed %@: %d RGB frames in %.3f s: %.1f RGB frames/s, %.0f spike frames/s (%.2fx real time); latency p50 %.2f ms p99 %.2f ms",
                    speed, done, t, Double(done) / t, Double(frames) / t, seconds / t, report.latencyMs.p50,
                    report.latencyMs.p99))
            if let p = report.pacingLatenessMs, p.count > 0 {
                print(
                    String(
                        format: "  speed %@: replay clock pacing error p50 %.3f ms, p99 %.3f ms (%d releases)", speed,
                        p.p50, p.p99, p.count))
            }
        }
    }
}
