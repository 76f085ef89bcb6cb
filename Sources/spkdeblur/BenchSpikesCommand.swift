import ArgumentParser
import Foundation
import SpikeCore

/// `spkdeblur bench spikes`: decode throughput and TFI time, beside the NumPy reference.
struct BenchSpikesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikes",
        abstract: "Decode throughput of a spike stream and TFI time of a model window, beside NumPy.",
        discussion: """
            Goals: decoding at least 10x real time at 20 kHz on one core, and the TFI of a \
            56-frame 250x400 window under 1 ms. The NumPy numbers come from \
            tools/bench_spikes_numpy.py (np.unpackbits decode, the reference's loop-based middleTFI) \
            when python3 with numpy is available.
            """
    )

    @Option(help: "Spike frame height.")
    var height: Int = 250
    @Option(help: "Spike frame width.")
    var width: Int = 400
    @Option(help: "Frames decoded for the throughput figure.")
    var frames: Int = 4000
    @Option(help: "Frames in the model window (T).")
    var window: Int = 56
    @Option(help: "Spike frame rate in Hz, for the real-time multiple.")
    var rate: Double = 20_000
    @Option(help: "TFI repetitions (the median is reported).")
    var repeats: Int = 50
    @Option(help: "The NumPy baseline script; empty to skip it.")
    var numpyScript: String = "tools/bench_spikes_numpy.py"

    func validate() throws {
        guard frames >= window, window >= 2, repeats >= 1, rate > 0 else {
            throw ValidationError("need frames >= window >= 2, repeats >= 1 and a positive rate")
        }
    }

    func run() throws {
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

        print("spike stream \(geometry.height)x\(geometry.width), \(frames) frames, \(window)-frame windows, one core")
        print(
            "swift decode: \(format(packedBytes / decodeSeconds / 1e9, 3)) GB/s packed"
                + " (\(format(packedBytes * 8 / decodeSeconds / 1e9, 2)) GB/s decoded),"
                + " \(format(framesPerSecond, 0)) frames/s = \(format(framesPerSecond / rate, 1))x real time at \(format(rate, 0)) Hz"
                + " [goal >= 10x]")
        print(
            "swift decode into a reused window buffer: \(format(packedBytes / reuseTime.seconds / 1e9, 3)) GB/s packed,"
                + " \(format(reuseFramesPerSecond, 0)) frames/s = \(format(reuseFramesPerSecond / rate, 1))x real time")
        print(
            "swift TFI (\(window) frames): packed \(format(packedTFI * 1000, 3)) ms,"
                + " decoded \(format(volumeTFI * 1000, 3)) ms, training input \(format(trainingTFI * 1000, 3)) ms"
                + " [goal < 1 ms]")

        if let numpy = runNumPy() {
            if let error = numpy["error"] as? String {
                print("numpy: skipped (\(error))")
            } else if let seconds = numpy["decode_seconds"] as? Double, let bytes = numpy["decode_bytes"] as? Double,
                let count = numpy["decode_frames"] as? Double, let tfi = numpy["tfi_median_ms"] as? Double
            {
                let version = numpy["numpy"] as? String ?? "?"
                print(
                    "numpy \(version) decode: \(format(bytes / seconds / 1e9, 3)) GB/s packed,"
                        + " \(format(count / seconds, 0)) frames/s = \(format(count / seconds / rate, 1))x real time;"
                        + " speed-up \(format(framesPerSecond / (count / seconds), 1))x"
                        + " (reused buffer \(format(reuseFramesPerSecond / (count / seconds), 1))x)")
                print(
                    "numpy TFI (\(window) frames, reference loop): \(format(tfi, 3)) ms;"
                        + " speed-up \(format(tfi / (packedTFI * 1000), 1))x")
            } else {
                print("numpy: skipped (unexpected output)")
            }
        }
        if checksum == Int.min { print("") }  // keeps the measured work observable
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
            print("numpy: skipped (\(numpyScript) not found; run from the repository root)")
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
            print("numpy: skipped (cannot run python3: \(error))")
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            print("numpy: skipped (python3 exited with status \(process.terminationStatus))")
            return nil
        }
        return object
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
