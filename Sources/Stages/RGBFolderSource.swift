import Foundation
import ImageCodecs
import Imaging
import Pipeline

/// `rgb-folder`: replays an image folder with exposure timestamps on the spike clock.
///
/// Timestamps come from, in order of preference: a CSV (`frame,start_ns,end_ns`, header
/// optional); `exposure_spike_frames` (exposure `i` covers spike frames `[i*n, (i+1)*n)` at
/// `rate_hz`, the Spk-GoPro convention where each blurry image has its own `.dat`); or `fps`
/// and `exposure_ms`. A frame is released when its exposure ends.
struct RGBFolderSource: Stage {
    let files: [String]
    let timestamps: [(Int64, Int64)]
    let clock: ClockSettings

    static let kind = StageKind(
        name: "rgb-folder", summary: "RGB frames from an image folder (PNG/JPEG) with exposure times",
        parameters: [
            ParameterSpec("path", .path, "folder of PNG or JPEG images, replayed in name order"),
            ParameterSpec("timestamps", .path, optional: true, "CSV with frame,start_ns,end_ns per image"),
            ParameterSpec(
                "exposure_spike_frames", .int(1...1_000_000), optional: true,
                "exposure i covers spike frames [i*n, (i+1)*n) (Spk-GoPro layout)"),
            ParameterSpec(
                "rate_hz", .double(1...10_000_000), default: .double(20_000),
                "spike clock rate (with exposure_spike_frames)"),
            ParameterSpec(
                "fps", .double(0.001...100_000), default: .double(30), "frame rate when no timestamps are given"),
            ParameterSpec("exposure_ms", .double(0.001...100_000), optional: true, "exposure time (default: 1000/fps)"),
            ParameterSpec(
                "start_ns", .int(MediaTime.intRange), default: .int(0),
                "spike-clock time of the first exposure start"),
        ],
        inputs: [], outputs: [PortSpec("frames", Ports.rgb)],
        make: { p, env in
            let path = p.string("path") ?? ""
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
                throw StageError("\(path): cannot list the image folder")
            }
            let files = names.filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
                .map { (path as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else { throw StageError("\(path): no PNG or JPEG images") }
            let start = Int64(p.int("start_ns") ?? 0)
            var stamps: [(Int64, Int64)] = []
            if let csv = p.string("timestamps") {
                stamps = try Self.readCSV(csv)
                guard stamps.count >= files.count else {
                    throw StageError("\(csv): \(stamps.count) timestamps for \(files.count) images")
                }
            } else if let n = p.int("exposure_spike_frames") {
                let rate = p.double("rate_hz") ?? 20_000
                stamps = try (0..<files.count).map { i in
                    try (
                        Self.stamp(start, Double(i) * Double(n) / rate * 1e9, "exposure_spike_frames"),
                        Self.stamp(start, Double(i + 1) * Double(n) / rate * 1e9, "exposure_spike_frames")
                    )
                }
            } else {
                let fps = p.double("fps") ?? 30
                let exposure = (p.double("exposure_ms") ?? 1000 / fps) * 1e6
                stamps = try (0..<files.count).map { i in
                    let s = try Self.stamp(start, Double(i) / fps * 1e9, "fps")
                    return (s, try Self.stamp(s, exposure, "exposure_ms"))
                }
            }
            return RGBFolderSource(files: files, timestamps: stamps, clock: env.clock)
        })

    /// `origin` plus `nanoseconds` on the spike clock, or a one-line error naming the parameter
    /// whose value carries the time past the accepted media times.
    static func stamp(_ origin: Int64, _ nanoseconds: Double, _ parameter: String) throws -> Int64 {
        guard let t = MediaTime.offset(origin, nanoseconds: nanoseconds) else {
            throw StageError(
                "\(parameter): exposure times from \(origin) ns + \(nanoseconds) ns fall outside the accepted "
                    + "media times (±2^62 ns)")
        }
        return t
    }

    static func readCSV(_ path: String) throws -> [(Int64, Int64)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StageError("\(path): cannot read")
        }
        var out: [(Int64, Int64)] = []
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if n == 0 && Int64(fields.first ?? "") == nil { continue }  // header
            guard fields.count >= 3, let s = Int64(fields[1]), let e = Int64(fields[2]), e >= s else {
                throw StageError("\(path):\(n + 1): expected frame,start_ns,end_ns with end >= start")
            }
            guard MediaTime.range.contains(s), MediaTime.range.contains(e) else {
                throw StageError("\(path):\(n + 1): start_ns/end_ns outside the accepted media times (±2^62 ns)")
            }
            out.append((s, e))
        }
        return out
    }

    func run(_ context: StageContext) async throws {
        let t0 = Int64(clock.start * 1e9)
        let t1 = clock.duration.map { t0 + Int64($0 * 1e9) } ?? Int64.max
        let origin = timestamps.first?.0 ?? 0
        let selected = files.indices.filter { timestamps[$0].0 - origin >= t0 && timestamps[$0].0 - origin < t1 }
        // Images are decoded ahead on their own threads (not the cooperative pool, whose few
        // threads also run the paced sources), a few frames in flight.
        let decoder = DecodeAhead(files: selected.map { files[$0] }, depth: 4)
        for (k, i) in selected.enumerated() {
            if context.shutdown.isRequested { return }
            try await context.pacer.wait(untilMedia: timestamps[i].1)
            let image = try await decoder.image(k)
            await context.send(
                "frames",
                RGBFrame(
                    id: i, image: image, exposureStart: timestamps[i].0,
                    exposureEnd: timestamps[i].1, ingestedAt: context.clock.now()))
        }
    }
}

/// Decodes images in order on background threads, `depth` ahead of the consumer.
final class DecodeAhead: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `results`, `waiters` and `submitted` are only touched
    // under `lock`; decoding runs on `queue`.
    private let files: [String]
    private let depth: Int
    private let lock = NSLock()
    private var results: [Int: Result<Image, ImagingError>] = [:]
    private var waiters: [Int: CheckedContinuation<Result<Image, ImagingError>, Never>] = [:]
    private var submitted = 0
    private let queue = DispatchQueue(label: "spkdeblur.rgb-decode", qos: .userInitiated, attributes: .concurrent)

    init(files: [String], depth: Int) {
        self.files = files
        self.depth = depth
    }

    func image(_ k: Int) async throws -> Image {
        submit(upTo: min(files.count, k + depth))
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Image, ImagingError>, Never>) in
            let ready = lock.withLock { () -> Result<Image, ImagingError>? in
                if let r = results.removeValue(forKey: k) { return r }
                waiters[k] = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        return try result.get()
    }

    private func submit(upTo end: Int) {
        let range = lock.withLock { () -> Range<Int> in
            let r = submitted..<max(submitted, end)
            submitted = max(submitted, end)
            return r
        }
        for k in range {
            let path = files[k]
            queue.async { [self] in
                let result = Result { () throws(ImagingError) -> Image in
                    try ImageFile.read(URL(fileURLWithPath: path)).rgb()
                }
                let waiter = lock.withLock { () -> CheckedContinuation<Result<Image, ImagingError>, Never>? in
                    if let w = waiters.removeValue(forKey: k) { return w }
                    results[k] = result
                    return nil
                }
                waiter?.resume(returning: result)
            }
        }
    }
}
