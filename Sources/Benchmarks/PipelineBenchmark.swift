import Foundation
import ImageCodecs
import Imaging
import Pipeline
import SpikeCore
import Stages

/// The benchmark behind `spkdeblur bench pipeline`: replay throughput, added latency and pacing error of the
/// runtime with a passthrough model stage.
public struct PipelineBenchmark: Sendable {
    public var seconds: Double
    public var rate: Double
    public var fps: Double
    public var height: Int
    public var width: Int
    public var pacing: Bool
    public var viewer: String
    /// The web-view stage's JPEG colour sampling, 420 or 444.
    public var chroma: String
    /// Where the report lines go (the command prints them).
    public var emit: @Sendable (String) -> Void

    public init(
        seconds: Double = 1, rate: Double = 20_000, fps: Double = 30, height: Int = 250, width: Int = 400,
        pacing: Bool = true, viewer: String = "none", chroma: String = "420", emit: @escaping @Sendable (String) -> Void
    ) {
        self.seconds = seconds
        self.rate = rate
        self.fps = fps
        self.height = height
        self.width = width
        self.pacing = pacing
        self.viewer = viewer
        self.chroma = chroma
        self.emit = emit
    }

    public func run() async throws {
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
        emit(
            String(
                format:
                    "bench pipeline: %dx%d spikes at %.0f Hz (%d frames, %.0f MB), %d RGB frames %dx%d at %.0f fps, passthrough, HDF5 without compression",
                height, width, rate, frames, Double(frames * geometry.bytesPerFrame) / 1e6, rgbCount, 2 * width,
                2 * height, fps))
        for speed in pacing ? ["max", "1.0"] : ["max"] {
            let port = viewer == "none" ? 0 : try StreamClient.freePort()
            // A browser is given a second after the stream to post its last report.
            let hold = viewer == "browser" ? ", hold_s: 1.5" : ""
            let view =
                viewer == "none"
                ? ""
                : "\n  view: {kind: web-view, port: \(port), chroma: \"\(chroma)\"\(hold), inputs: {frames: deblur}}"
            let client = viewer == "client" ? StreamClient(port: port) : nil
            client?.start()
            let browser = viewer == "browser" ? try HeadlessBrowser(url: "http://127.0.0.1:\(port)/", port: port) : nil
            defer { browser?.stop() }
            let text = """
                clock: {speed: \(speed)}
                stages:
                  spikes: {kind: spike-file, path: \(dir.path)/rec.dat, height: \(height), width: \(width), rate_hz: \(rate), batch: 100}
                  rgb: {kind: rgb-folder, path: \(dir.path)/rgb, timestamps: \(dir.path)/t.csv}
                  windows: {kind: exposure-window, frames: 56, rate_hz: \(rate), inputs: {spikes: {from: spikes, capacity: 64}, exposures: rgb}}
                  sync: {kind: rgb-sync, inputs: {windows: windows, rgb: rgb}}
                  deblur: {kind: passthrough, inputs: {fused: sync}}
                  sink: {kind: hdf5-sink, path: \(dir.path)/out.h5, compression: none, store_recon: false, inputs: {frames: deblur}}
                """ + view
            let graph = try PipelineDescription(registry: StandardStages.registry()).parse(
                text: text, file: "bench.yaml")
            // Beside a paced run, a bare thread's wake-ups on a similar cadence: the machine's floor.
            let probe = speed == "max" ? nil : WakeupProbe(period: .milliseconds(4))
            probe?.start()
            let report = try await PipelineRunner(graph: graph).run()
            probe?.stop()
            let done = report.stages.first { $0.name == "sink" }?.itemsIn ?? 0
            let t = report.wallSeconds
            emit(
                String(
                    format:
                        "  speed %@: %d RGB frames in %.3f s: %.1f RGB frames/s, %.0f spike frames/s (%.2fx real time); latency p50 %.2f ms p99 %.2f ms",
                    speed, done, t, Double(done) / t, Double(frames) / t, seconds / t, report.latencyMs.p50,
                    report.latencyMs.p99))
            if let client {
                let (parts, latencies) = client.stop()
                let sorted = latencies.sorted()
                let at = { (p: Double) in
                    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p / 100 * Double(sorted.count)))]
                }
                emit(
                    String(
                        format:
                            "  speed %@: viewer stream client got %d frames; sink to client latency p50 %.1f ms, p99 %.1f ms",
                        speed, parts, at(50), at(99)))
            }
            if browser != nil, let view = report.stages.first(where: { $0.name == "view" }) {
                let c = view.counters
                emit(
                    String(
                        format:
                            "  speed %@: headless Chromium (real time) showed %d frames; sink to drawn in the page p50 %.1f ms, p99 %.1f ms (%d samples)",
                        speed, c["page-frames-shown"] ?? 0, Double(c["page-latency-p50-us"] ?? 0) / 1000,
                        Double(c["page-latency-p99-us"] ?? 0) / 1000, c["page-latency-samples"] ?? 0))
            }
            if let p = report.pacingLatenessMs, p.count > 0 {
                emit(
                    String(
                        format: "  speed %@: replay clock pacing error p50 %.3f ms, p99 %.3f ms (%d releases)", speed,
                        p.p50, p.p99, p.count))
            }
            if let floor = probe?.lateness, floor.count > 0 {
                emit(
                    String(
                        format:
                            "  speed %@: the machine's floor, a bare thread's timed wake-ups in the same run: late p50 %.3f ms, p99 %.3f ms (%d wake-ups)",
                        speed, floor.percentileMilliseconds(50), floor.percentileMilliseconds(99), floor.count))
            }
        }
    }
}

/// A client of the `web-view` MJPEG stream on its own thread: reads every byte as fast as it
/// can and notes, per part, how long after the sink received it the part's header arrived.
final class StreamClient: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `parts`, `latencies`, `fd` and `stopping` are only
    // touched under `lock`, except that the reader thread alone calls `recv` on `fd`.
    private let lock = NSLock()
    private var parts = 0
    private var latencies: [Double] = []
    private var fd: Int32 = -1
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    let port: Int

    init(port: Int) { self.port = port }

    /// A TCP port that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw BenchmarkError("bench pipeline: no free TCP port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A socket connected to `127.0.0.1:port`, or -1.
    static func connectLoopback(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc == 0 { return fd }
        close(fd)
        return -1
    }

    func start() {
        Thread { [self] in
            read()
            done.signal()
        }.start()
    }

    private func read() {
        var socketFD: Int32 = -1
        // The server starts with the pipeline: retry for a few seconds.
        for _ in 0..<500 {
            if lock.withLock({ stopping }) { return }
            socketFD = Self.connectLoopback(port: port)
            if socketFD >= 0 { break }
            usleep(10_000)
        }
        guard socketFD >= 0 else { return }
        lock.withLock { fd = socketFD }
        let request = "GET /stream.mjpeg HTTP/1.1\r\nHost: bench\r\n\r\n"
        _ = request.withCString { send(socketFD, $0, strlen($0), 0) }
        let marker = Array("X-Received-Ms: ".utf8)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var carry: [UInt8] = []
        while true {
            let n = recv(socketFD, &buffer, buffer.count, 0)
            if n <= 0 { break }
            let now = Date().timeIntervalSince1970 * 1000
            let bytes = carry + buffer[0..<n]
            var i = 0
            var found: [Double] = []
            while i + marker.count < bytes.count {
                if bytes[i] == marker[0], Array(bytes[i..<(i + marker.count)]) == marker {
                    var j = i + marker.count
                    while j < bytes.count, bytes[j] != 13 { j += 1 }
                    if j == bytes.count { break }  // the number continues in the next read
                    if let v = Double(String(decoding: bytes[(i + marker.count)..<j], as: UTF8.self)) {
                        found.append(now - v)
                    }
                    i = j
                } else {
                    i += 1
                }
            }
            carry = Array(bytes[max(i, bytes.count - 64)...])
            lock.withLock {
                parts += found.count
                latencies += found
            }
        }
    }

    /// Closes the connection; returns the parts seen and their latencies (ms).
    func stop() -> (Int, [Double]) {
        lock.withLock {
            stopping = true
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        done.wait()
        return lock.withLock {
            if fd >= 0 { close(fd) }
            return (parts, latencies)
        }
    }
}

/// Headless Chromium (Debian's `chromium`) showing a page in real time (no virtual time, so
/// the page's clock is the machine's), started on its own thread once the pipeline's server
/// accepts connections (a page loaded before that would be an error page).
final class HeadlessBrowser: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `process` and `stopping` are only touched under `lock`.
    private let lock = NSLock()
    private var process: Process?
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init(url: String, port: Int) throws {
        guard
            let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { throw BenchmarkError("bench pipeline --viewer browser: chromium is not installed (tools/setup --test)") }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("spkdeblur-chromium-\(UUID())")
        Thread { [self] in
            defer { done.signal() }
            // Wait for the server (up to 30 s).
            for _ in 0..<3000 {
                if lock.withLock({ stopping }) { return }
                let fd = StreamClient.connectLoopback(port: port)
                if fd >= 0 {
                    close(fd)
                    break
                }
                usleep(10_000)
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--no-first-run",
                "--user-data-dir=\(profile.path)", url,
            ]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            lock.withLock {
                guard !stopping, (try? p.run()) != nil else { return }
                process = p
            }
        }.start()
    }

    /// Ends the browser (and its wait for the server).
    func stop() {
        lock.withLock { stopping = true }
        done.wait()
        done.signal()
        if let running = lock.withLock({ process }), running.isRunning {
            running.terminate()
            running.waitUntilExit()
        }
    }
}
