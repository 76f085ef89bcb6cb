import Foundation
import Recording

/// The benchmark behind `spkdeblur bench sink`: recording throughput per compression, beside h5py.
public struct SinkBenchmark: Sendable {
    public var height: Int
    public var width: Int
    public var frames: Int
    public var distinct: Int
    public var compressions: String
    public var script: String
    public var dir: String?
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        height: Int = 500, width: Int = 800, frames: Int = 200, distinct: Int = 16,
        compressions: String = "none,deflate,bitshuffle-lz4", script: String = "tools/h5py_sink_bench.py",
        dir: String? = nil, emit: @escaping @Sendable (String) -> Void
    ) {
        self.height = height
        self.width = width
        self.frames = frames
        self.distinct = distinct
        self.compressions = compressions
        self.script = script
        self.dir = dir
        self.emit = emit
    }

    public func run() throws {
        let fm = FileManager.default
        let workDir = URL(
            fileURLWithPath: dir ?? (NSTemporaryDirectory() + "spkdeblur-bench-sink-\(UUID().uuidString)"))
        try fm.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { if dir == nil { try? fm.removeItem(at: workDir) } }

        let k = min(distinct, frames)
        let images = (0..<k).map { makeFrame($0) }
        let rawURL = workDir.appendingPathComponent("frames.u8")
        try Data(images.flatMap { $0 }).write(to: rawURL)
        let recorded = images.map { RecordedFrame(sharp: .uint8($0)) }
        let frameBytes = Double(height * width * 3)
        let usePython = !script.isEmpty && fm.fileExists(atPath: script)
        emit("bench sink: \(frames) frames of \(height)x\(width)x3 uint8, one chunk per frame, SWMR, flush per frame")
        emit(
            "cores: \(ProcessInfo.processInfo.activeProcessorCount)\(usePython ? "" : "  (h5py peer skipped: no script '\(script)')")"
        )
        emit("compression      spkdeblur fps    MB/s   ratio |  h5py fps    MB/s   ratio | content")
        for name in compressions.split(separator: ",").map(String.init) {
            guard let compression = Compression(parsing: name) else { continue }
            let ours = workDir.appendingPathComponent("spkdeblur-\(name).h5")
            let clock = ContinuousClock()
            let elapsed = try clock.measure {
                let writer = try SequenceWriter(
                    url: ours,
                    options: .init(height: height, width: width, compression: compression, swmr: true, flushEvery: 1))
                for i in 0..<frames {
                    var frame = recorded[i % k]
                    frame.frameID = Int64(i)
                    try writer.append(frame)
                }
                try writer.finish()
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let fileBytes = (try? fm.attributesOfItem(atPath: ours.path)[.size] as? Int) ?? 0
            var line =
                pad(compression.description, 15)
                + fmt(Double(frames) / seconds, 14) + fmt(Double(frames) * frameBytes / seconds / 1e6, 8)
                + fmt(Double(frames) * frameBytes / Double(max(fileBytes, 1)), 8)
            if usePython {
                let peer = workDir.appendingPathComponent("h5py-\(name).h5")
                let pyName = if case .deflate = compression { "deflate" } else { compression.description }
                let out = try python([
                    script, "write", "--raw", rawURL.path, "--distinct", "\(k)", "--frames", "\(frames)",
                    "--height", "\(height)", "--width", "\(width)", "--compression", pyName, "--out", peer.path,
                ])
                if let data = out.data(using: .utf8),
                    let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let s = json["seconds"] as? Double, let b = json["file_bytes"] as? Int
                {
                    line +=
                        " |" + fmt(Double(frames) / s, 10) + fmt(Double(frames) * frameBytes / s / 1e6, 8)
                        + fmt(Double(frames) * frameBytes / Double(max(b, 1)), 8)
                } else {
                    line += " | h5py failed: \(out)"
                }
                let same = (try? python([script, "compare", ours.path, peer.path])) ?? "compare failed"
                line += " | " + same
            }
            emit(line)
        }
    }

    /// A smooth, image-like frame with a little deterministic noise.
    func makeFrame(_ f: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: height * width * 3)
        var state = UInt32(truncatingIfNeeded: 2_166_136_261 &+ f)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    state = state &* 1_664_525 &+ 1_013_904_223
                    let noise = Double(Int(state >> 31))  // one level of dither
                    let v =
                        128 + 60 * sin(Double(x + 3 * f) / 37 + Double(c)) * cos(Double(y - 2 * f) / 29)
                        + 35 * sin(Double(x + y) / 90 + Double(f) * 0.05) + noise
                    pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                }
            }
        }
        return pixels
    }

    private func python(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func fmt(_ value: Double, _ width: Int) -> String {
        pad(String(format: "%.1f", value), width, right: true)
    }

    private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
