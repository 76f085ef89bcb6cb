import ArgumentParser
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
        guard height > 0, width > 0, frames >= 1, distinct >= 1 else {
            throw ValidationError("height, width, frames and distinct must be positive")
        }
        for name in compressions.split(separator: ",") where Compression(parsing: String(name)) == nil {
            throw ValidationError("unknown compression '\(name)' (none, deflate, deflate:N, bitshuffle-lz4)")
        }
    }

    func run() throws {
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
        print("bench sink: \(frames) frames of \(height)x\(width)x3 uint8, one chunk per frame, SWMR, flush per frame")
        print(
            "cores: \(ProcessInfo.processInfo.activeProcessorCount)\(usePython ? "" : "  (h5py peer skipped: no script '\(script)')")"
        )
        print("compression      spkdeblur fps    MB/s   ratio |  h5py fps    MB/s   ratio | content")
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
            print(line)
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
