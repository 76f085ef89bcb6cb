import Foundation
import Pipeline
import SpikeCore

/// The benchmark behind `spkdeblur bench spikes`: decode throughput and TFI time, beside the NumPy reference.
public struct SpikesBenchmark: Sendable {
    public var height: Int
    public var width: Int
    public var frames: Int
    public var window: Int
    public var rate: Double
    public var repeats: Int
    public var numpyScript: String
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        height: Int = 250, width: Int = 400, frames: Int = 4000, window: Int = 56, rate: Double = 20_000,
        repeats: Int = 50, numpyScript: String = "tools/bench_spikes_numpy.py",
        emit: @escaping @Sendable (String) -> Void
    ) {
        self.height = height
        self.width = width
        self.frames = frames
        self.window = window
        self.rate = rate
        self.repeats = repeats
        self.numpyScript = numpyScript
        self.emit = emit
    }

    public func run() throws {
        let geometry = try SpikeGeometry(height: height, width: width)
        let stream = randomStream(geometry: geometry, frames: frames, density: 0.1)
        let clock = ContinuousClock()

        // Decode: window after window, as the pipeline does.
        var checksum = 0
        let decodeTime = clock.measure {
            var start = 0
            while start < frames {
                let end = min(start + window, frames)
                let volume = stream.unpacked(range: start..<end)
                checksum &+= Int(volume.values[volume.values.count / 2])
                start = end
            }
        }
        let decodeSeconds = decodeTime.seconds
        // Steady state of a streaming loop: one window buffer reused.
        var buffer: [UInt8] = []
        let reuseTime = clock.measure {
            var start = 0
            while start < frames {
                let end = min(start + window, frames)
                stream.unpack(start..<end, into: &buffer)
                checksum &+= Int(buffer[buffer.count / 2])
                start = end
            }
        }
        let reuseFramesPerSecond = Double(frames) / reuseTime.seconds
        let packedBytes = Double(stream.bytes.count)
        let framesPerSecond = Double(frames) / decodeSeconds

        // TFI of one model window, both paths.
        let cut = try SpikeWindow.cut(stream, center: frames / 2, length: window)
        let volume = cut.unpacked()
        let packedTFI = median(repeats) { checksum &+= TFI.middle(cut, middle: window / 2).count }
        let volumeTFI = median(repeats) { checksum &+= TFI.middle(volume, middle: window / 2).count }
        let trainingTFI = median(repeats) { checksum &+= TFI.trainingInput(cut).count }

        emit("spike stream \(geometry.height)x\(geometry.width), \(frames) frames, \(window)-frame windows, one core")
        emit(
            "swift decode: \(format(packedBytes / decodeSeconds / 1e9, 3)) GB/s packed"
                + " (\(format(packedBytes * 8 / decodeSeconds / 1e9, 2)) GB/s decoded),"
                + " \(format(framesPerSecond, 0)) frames/s = \(format(framesPerSecond / rate, 1))x real time at \(format(rate, 0)) Hz"
                + " [goal >= 10x]")
        emit(
            "swift decode into a reused window buffer: \(format(packedBytes / reuseTime.seconds / 1e9, 3)) GB/s packed,"
                + " \(format(reuseFramesPerSecond, 0)) frames/s = \(format(reuseFramesPerSecond / rate, 1))x real time")
        emit(
            "swift TFI (\(window) frames): packed \(format(packedTFI * 1000, 3)) ms,"
                + " decoded \(format(volumeTFI * 1000, 3)) ms, training input \(format(trainingTFI * 1000, 3)) ms"
                + " [goal < 1 ms]")

        if let numpy = runNumPy() {
            if let error = numpy["error"] as? String {
                emit("numpy: skipped (\(error))")
            } else if let seconds = numpy["decode_seconds"] as? Double, let bytes = numpy["decode_bytes"] as? Double,
                let count = numpy["decode_frames"] as? Double, let tfi = numpy["tfi_median_ms"] as? Double
            {
                let version = numpy["numpy"] as? String ?? "?"
                emit(
                    "numpy \(version) decode: \(format(bytes / seconds / 1e9, 3)) GB/s packed,"
                        + " \(format(count / seconds, 0)) frames/s = \(format(count / seconds / rate, 1))x real time;"
                        + " speed-up \(format(framesPerSecond / (count / seconds), 1))x"
                        + " (reused buffer \(format(reuseFramesPerSecond / (count / seconds), 1))x)")
                emit(
                    "numpy TFI (\(window) frames, reference loop): \(format(tfi, 3)) ms;"
                        + " speed-up \(format(tfi / (packedTFI * 1000), 1))x")
            } else {
                emit("numpy: skipped (unexpected output)")
            }
        }
        if checksum == Int.min { emit("") }  // keeps the measured work observable
    }

    /// A reproducible random stream where each pixel fires with probability `density`.
    private func randomStream(geometry: SpikeGeometry, frames: Int, density: Double) -> PackedSpikeFrames {
        var rng = SplitMix64(seed: 20_000)
        let threshold = UInt64(density * Double(UInt64(1) << 32))
        var bytes = [UInt8](repeating: 0, count: frames * geometry.bytesPerFrame)
        for i in 0..<bytes.count {
            var byte: UInt8 = 0
            for bit in 0..<8 where rng.next() >> 32 < threshold { byte |= 1 << UInt8(bit) }
            bytes[i] = byte
        }
        var out = PackedSpikeFrames(geometry: geometry)
        // Whole frames by construction; a failure here would be a broken invariant.
        if let packed = try? PackedSpikeFrames(geometry: geometry, bytes: bytes) { out = packed }
        return out
    }

    /// Median wall time of `body` in seconds.
    private func median(_ count: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        body()  // warm-up
        var times = (0..<count).map { _ in clock.measure(body).seconds }
        times.sort()
        return times[times.count / 2]
    }

    /// Runs the NumPy baseline; nil when there is no script or no python3.
    private func runNumPy() -> [String: Any]? {
        guard !numpyScript.isEmpty else { return nil }
        guard FileManager.default.fileExists(atPath: numpyScript) else {
            emit("numpy: skipped (\(numpyScript) not found; run from the repository root)")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", numpyScript, "--height", "\(height)", "--width", "\(width)",
            "--frames", "\(min(frames, 2000))", "--window", "\(window)", "--repeats", "\(min(repeats, 20))",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            emit("numpy: skipped (cannot run python3: \(error))")
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            emit("numpy: skipped (python3 exited with status \(process.terminationStatus))")
            return nil
        }
        return object
    }
}

/// Fixed-point formatting for the report.
private func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
