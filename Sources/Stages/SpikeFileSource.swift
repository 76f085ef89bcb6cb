import Foundation
import Pipeline
import SpikeCore

/// `spike-file`: replays a `.dat` recording (or a directory of per-exposure `.dat` files, as
/// in Spk-GoPro, concatenated in name order) paced by the spike clock.
struct SpikeFileSource: Stage {
    let files: [String]
    let geometry: SpikeGeometry
    let rateHz: Double
    let startNs: Int64
    let batch: Int
    let clock: ClockSettings

    static let kind = StageKind(
        name: "spike-file", summary: "spike frames from a .dat recording or a directory of .dat files",
        parameters: [
            ParameterSpec("path", .path, "a .dat file, or a directory whose .dat files are replayed in name order"),
            ParameterSpec("height", .int(1...100_000), "sensor height (rows)"),
            ParameterSpec("width", .int(1...100_000), "sensor width (columns)"),
            ParameterSpec("rate_hz", .double(1...10_000_000), default: .double(20_000), "spike frames per second"),
            ParameterSpec("start_ns", .int(MediaTime.intRange), default: .int(0), "spike-clock time of frame 0"),
            ParameterSpec("batch", .int(1...100_000), default: .int(100), "frames per emitted batch"),
        ],
        inputs: [], outputs: [PortSpec("frames", Ports.spikes)],
        make: { p, env in
            let path = p.string("path") ?? ""
            let geometry = try SpikeGeometry(height: p.int("height") ?? 0, width: p.int("width") ?? 0)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw StageError("\(path): no such file or directory")
            }
            var files = [path]
            if isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files = names.filter { $0.hasSuffix(".dat") }.sorted().map {
                    (path as NSString).appendingPathComponent($0)
                }
                guard !files.isEmpty else { throw StageError("\(path): no .dat files in the directory") }
            }
            return SpikeFileSource(
                files: files, geometry: geometry, rateHz: p.double("rate_hz") ?? 20_000,
                startNs: Int64(p.int("start_ns") ?? 0), batch: p.int("batch") ?? 100, clock: env.clock)
        })

    func run(_ context: StageContext) async throws {
        var global = 0
        let firstWanted = Int((clock.start * rateHz).rounded(.down))
        let lastWanted = clock.duration.map { firstWanted + Int(($0 * rateHz).rounded(.up)) } ?? Int.max
        for path in files {
            let dat = try DatFile(path: path, geometry: geometry)
            var i = 0
            while i < dat.frameCount {
                if context.shutdown.isRequested { return }
                let n = min(batch, dat.frameCount - i)
                let lo = max(global + i, firstWanted), hi = min(global + i + n, lastWanted)
                if lo < hi {
                    // Release the batch when its last frame has been recorded.
                    // Past the accepted media times (a start_ns near the edge and a long file), the
                    // release waits at the edge: the pacer's clamp.
                    let due = MediaTime.offset(startNs, seconds: Double(hi) / rateHz) ?? MediaTime.range.upperBound
                    try await context.pacer.wait(untilMedia: due)
                    let frames = try dat.read((lo - global)..<(hi - global))
                    await context.send(
                        "frames",
                        SpikeBatch(frames: frames, firstIndex: lo, ingestedAt: context.clock.now(), rateHz: rateHz))
                }
                if global + i + n >= lastWanted { return }
                i += n
            }
            global += dat.frameCount
        }
    }
}
