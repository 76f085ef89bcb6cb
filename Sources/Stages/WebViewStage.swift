import Foundation
import ImageCodecs
import Imaging
import Pipeline
import Tensor
import Viewer

/// `web-view`: serves a browser page with the newest frame (blurry input | spike
/// reconstruction | deblurred output) and the pipeline's live metrics (docs/pipelines.md,
/// "Viewer").
///
/// The stage only hands each frame to the viewer (no copy, no encoding); the HTTP server
/// runs on its own NIO event loop thread and encodes on its own queue, only for connected
/// browsers, latest frame wins. A slow, paused or stalled browser therefore gets fewer
/// frames and never slows the pipeline.
struct WebViewStage: Stage {
    let host: String
    let port: Int
    let maxFPS: Double
    let quality: Int
    let chroma: JPEGChroma
    let holdSeconds: Double

    static let kind = StageKind(
        name: "web-view",
        summary: "serves a live browser view of deblurred frames and pipeline metrics (HTTP, loopback by default)",
        parameters: [
            ParameterSpec(
                "host", .string, default: .string("127.0.0.1"),
                "address to bind; anything but loopback exposes the frames to the network"),
            ParameterSpec("port", .int(0...65_535), default: .int(8090), "TCP port (0: any free port, printed)"),
            ParameterSpec(
                "max_fps", .double(0.1...240), default: .double(30), "frames a second sent to browsers at most"),
            ParameterSpec("quality", .int(1...100), default: .int(85), "JPEG quality of the live stream"),
            ParameterSpec(
                "chroma", .choice(["420", "444"]), default: .string("420"),
                "JPEG colour sampling: 420 (half-resolution colour, 2.4x faster) or 444 (full)"),
            ParameterSpec(
                "hold_s", .double(0...86_400), default: .double(0),
                "keep serving the last frame this long after the stream ends (Ctrl-C ends it early)"),
        ],
        inputs: [PortSpec("frames", Ports.deblurred)], outputs: [],
        make: { p, _ in
            WebViewStage(
                host: p.string("host") ?? "127.0.0.1", port: p.int("port") ?? 8090, maxFPS: p.double("max_fps") ?? 30,
                quality: p.int("quality") ?? 85, chroma: JPEGChroma(rawValue: p.string("chroma") ?? "420") ?? .half,
                holdSeconds: p.double("hold_s") ?? 0)
        })

    func run(_ context: StageContext) async throws {
        let metrics = context.pipelineMetrics
        let clock = context.clock
        let viewer = LiveViewer(
            title: context.name, maxFPS: maxFPS, quality: quality, chroma: chroma,
            metrics: {
                let report = metrics.report(wallSeconds: clock.now().seconds, pacer: nil)
                let data = (try? JSONEncoder().encode(report)) ?? Data("{}".utf8)
                return String(decoding: data, as: UTF8.self)
            })
        let server: HTTPServer
        do { server = try await viewer.start(host: host, port: port) } catch {
            throw StageError("web-view '\(context.name)': \(error.message)")
        }
        FileHandle.standardError.write(Data("web-view '\(context.name)': serving \(server.url)\n".utf8))
        do {
            while let f = try await context.receive("frames", as: DeblurredFrame.self) {
                let latency = clock.now() - f.ingestedAt
                var panels = [Panel(name: "blur") { Self.image(f.blur) }]
                if let recon = f.spikeRecon { panels.append(Panel(name: "recon") { Self.image(recon) }) }
                panels.append(Panel(name: "sharp") { Self.image(f.sharp) })
                viewer.publish(
                    LiveFrame(
                        frameID: f.frameID, receivedUnixMs: Date().timeIntervalSince1970 * 1000,
                        exposureStart: f.exposureStart, exposureEnd: f.exposureEnd,
                        latencyMs: latency.seconds * 1000, panels: panels))
            }
        } catch {
            await viewer.stop()
            throw error
        }
        viewer.finish()
        let totals = await viewer.totals()
        context.metrics.count("encoded", by: totals.encoded)
        context.metrics.count("encode-ms-total", by: totals.encodeMilliseconds)
        context.metrics.count("stream-parts-sent", by: totals.sent)
        context.metrics.count("stream-parts-skipped-slow-clients", by: totals.skipped)
        context.metrics.count("stream-connections", by: totals.connections)
        // Lets a person (or a test) look at the last frame after a short replay.
        let until = ContinuousClock.now + .milliseconds(Int(holdSeconds * 1000))
        while ContinuousClock.now < until, !context.shutdown.isRequested {
            try? await Task.sleep(for: .milliseconds(50))
        }
        // What the pages reported (each posts its display latency about once a second: the
        // time from the sink receiving a frame to the page having drawn it, its own clock
        // against the frame's `X-Received-Ms`).
        let page = viewer.clientStatistics()
        let sorted = page.latencies.sorted()
        func microseconds(_ q: Double) -> Int {
            guard let last = sorted.indices.last else { return 0 }
            let v = sorted[min(last, Int(q * Double(sorted.count)))] * 1000
            return v.isFinite ? Int(max(0, min(v, 3.6e9))) : 0
        }
        context.metrics.count("page-frames-shown", by: page.shown)
        context.metrics.count("page-latency-samples", by: sorted.count)
        context.metrics.count("page-latency-p50-us", by: microseconds(0.5))
        context.metrics.count("page-latency-p99-us", by: microseconds(0.99))
        await viewer.stop()
    }

    /// The map as an image (the copy happens on the viewer's encoder queue).
    static func image(_ m: FeatureMap) -> Image {
        Image(width: m.width, height: m.height, channels: m.channels, pixels: m.data.array)
    }
}
