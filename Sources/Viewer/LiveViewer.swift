import Dispatch
import Foundation
import ImageCodecs
import Imaging
import NIOCore
import Synchronization

/// One image of a live frame, converted only when a client needs it (off the pipeline).
public struct Panel: Sendable {
    /// `blur`, `recon` or `sharp`: also the name in `/frame/NAME.png`.
    public var name: String
    /// Produces the image (HWC floats in [0, 1], 1 or 3 channels).
    public var image: @Sendable () -> Image
    public init(name: String, image: @escaping @Sendable () -> Image) {
        self.name = name
        self.image = image
    }
}

/// The newest frame a live viewer shows.
public struct LiveFrame: Sendable {
    public var frameID: Int
    /// When the sink received it, milliseconds since 1970 (the page compares with `Date.now()`).
    public var receivedUnixMs: Double
    public var exposureStart: Int64
    public var exposureEnd: Int64
    /// Ingest to sink, on the pipeline clock.
    public var latencyMs: Double
    /// Shown left to right.
    public var panels: [Panel]
    public init(
        frameID: Int, receivedUnixMs: Double, exposureStart: Int64, exposureEnd: Int64, latencyMs: Double,
        panels: [Panel]
    ) {
        self.frameID = frameID
        self.receivedUnixMs = receivedUnixMs
        self.exposureStart = exposureStart
        self.exposureEnd = exposureEnd
        self.latencyMs = latencyMs
        self.panels = panels
    }
}

/// The live viewer behind the `web-view` stage: an HTTP server, the page, an MJPEG stream of
/// the panels side by side, and JSON metrics.
///
/// The pipeline only calls ``publish(_:)``, which stores the frame (no copy, no encoding) and
/// returns. One encoder queue turns the newest frame into a JPEG when stream clients are
/// connected, at most `maxFPS` times a second and never more than one at a time, so the
/// viewer's CPU use is bounded whatever the pipeline's rate; frames that arrive meanwhile are
/// replaced, never queued.
public final class LiveViewer: Sendable {
    struct State {
        var latest: LiveFrame?
        var version = 0
        var encoding = false
        /// Encodes the rate limit allows now (a token bucket of 2, refilled at `maxFPS`): a
        /// frame that comes a little early after the last encode is not held back a whole
        /// interval, and the long-run rate stays at most `maxFPS`.
        var credit = 2.0
        var creditTime = 0.0
        var streamClients = 0
        var published = 0
        var encoded = 0
        var encodeSeconds = 0.0
        var ended = false
        var stopped = false
    }
    struct ClientStats {
        var latencies: [Double] = []
        var shown = 0
        var lastFrameID = -1
    }

    private let state = Mutex(State())
    private let clientStats = Mutex(ClientStats())
    private let encoder = DispatchQueue(label: "web-view.encoder", qos: .utility)
    private let hubBox = Mutex<StreamHub?>(nil)
    private let serverBox = Mutex<HTTPServer?>(nil)
    let maxFPS: Double
    let quality: Int
    let chroma: JPEGChroma
    let title: String
    let metrics: @Sendable () -> String

    /// - Parameters:
    ///   - metrics: the pipeline's metrics as a JSON object, read when the page polls.
    public init(
        title: String, maxFPS: Double, quality: Int, chroma: JPEGChroma = .half,
        metrics: @escaping @Sendable () -> String
    ) {
        self.chroma = chroma
        self.title = title
        self.maxFPS = max(0.1, maxFPS)
        self.quality = min(100, max(1, quality))
        self.metrics = metrics
    }

    /// Starts serving; returns the server (its `url` says where).
    public func start(host: String, port: Int) async throws(ViewerError) -> HTTPServer {
        let server = try await HTTPServer(host: host, port: port) { [self] request in route(request) }
        let hub = StreamHub(loop: server.eventLoop) { [self] n in clientsChanged(n) }
        hubBox.withLock { $0 = hub }
        serverBox.withLock { $0 = server }
        return server
    }

    /// Stops encoding, lets a running encode finish, then stops the server (so nothing is
    /// handed to its event loop after it shut down).
    public func stop() async {
        state.withLock { $0.stopped = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            encoder.async { done.resume() }
        }
        if let server = serverBox.withLock({ $0 }) { await server.shutdown() }
    }

    /// Makes `frame` the newest one. Never waits: safe to call from the pipeline at any rate.
    public func publish(_ frame: LiveFrame) {
        let delay = state.withLock { s -> Double? in
            s.latest = frame
            s.version += 1
            s.published += 1
            return claimEncode(&s)
        }
        if let delay { scheduleEncode(after: delay) }
    }

    /// Marks the end of the stream (the page says so).
    public func finish() { state.withLock { $0.ended = true } }

    /// What the page reported about shown frames: count, last frame id, display latency.
    public func clientStatistics() -> (shown: Int, lastFrameID: Int, latencies: [Double]) {
        clientStats.withLock { ($0.shown, $0.lastFrameID, $0.latencies) }
    }

    /// The stream hub's counters; call on the server's event loop.
    func hubStatistics() -> (clients: Int, sent: Int, skipped: Int, connections: Int) {
        hubBox.withLock { $0 }?.statistics() ?? (clients: 0, sent: 0, skipped: 0, connections: 0)
    }

    /// Totals for the stage's metrics: frames encoded, stream parts written and skipped, stream connections.
    public func totals() async -> (encoded: Int, encodeMilliseconds: Int, sent: Int, skipped: Int, connections: Int) {
        let (encoded, seconds) = state.withLock { ($0.encoded, $0.encodeSeconds) }
        let ms = Int((seconds * 1000).rounded())
        guard let server = serverBox.withLock({ $0 }) else { return (encoded, ms, 0, 0, 0) }
        let none = (clients: 0, sent: 0, skipped: 0, connections: 0)
        let hub = (try? await server.eventLoop.submit { [self] in hubStatistics() }.get()) ?? none
        return (encoded, ms, hub.sent, hub.skipped, hub.connections)
    }

    // MARK: encoding

    /// Claims the encoder when a stream client waits for a newer frame; the delay keeps to `maxFPS`.
    private func claimEncode(_ s: inout State) -> Double? {
        guard s.streamClients > 0, !s.encoding, !s.stopped, s.latest != nil else { return nil }
        s.encoding = true
        refill(&s)
        return s.credit >= 1 ? 0 : (1 - s.credit) / maxFPS
    }

    private func refill(_ s: inout State) {
        let now = ProcessInfo.processInfo.systemUptime
        s.credit = min(2, s.credit + max(0, now - s.creditTime) * maxFPS)
        s.creditTime = now
    }

    private func scheduleEncode(after delay: Double) {
        encoder.asyncAfter(deadline: .now() + delay) { [self] in encodeNewest() }
    }

    private func clientsChanged(_ n: Int) {
        let delay = state.withLock { s -> Double? in
            s.streamClients = n
            return claimEncode(&s)
        }
        if let delay { scheduleEncode(after: delay) }
    }

    private func encodeNewest() {
        let start = ProcessInfo.processInfo.systemUptime
        let (frame, version, stopped) = state.withLock { s in
            refill(&s)
            s.credit -= 1
            return (s.latest, s.version, s.stopped)
        }
        if !stopped, let frame, let part = try? Self.part(frame, quality: quality, chroma: chroma) {
            hubBox.withLock { $0 }?.publish(part)
        }
        let delay = state.withLock { s -> Double? in
            s.encoding = false
            s.encoded += 1
            s.encodeSeconds += ProcessInfo.processInfo.systemUptime - start
            return s.version > version ? claimEncode(&s) : nil
        }
        if let delay { scheduleEncode(after: delay) }
    }

    /// A multipart part: boundary, headers with the frame's id and receive time, the JPEG.
    static func part(_ frame: LiveFrame, quality: Int, chroma: JPEGChroma = .half) throws -> [UInt8] {
        let (rgb, w, h) = Composite.sideBySide(frame.panels.map { $0.image() })
        let jpeg = try ImageFile.encodeJPEG(rgb8: rgb, width: w, height: h, quality: quality, chroma: chroma)
        let header =
            "--\(StreamHub.boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n"
            + "X-Frame-Id: \(frame.frameID)\r\nX-Received-Ms: \(String(format: "%.3f", frame.receivedUnixMs))\r\n"
            + "X-Latency-Ms: \(String(format: "%.3f", frame.latencyMs))\r\nX-Panels: \(frame.panels.map(\.name).joined(separator: ","))\r\n\r\n"
        return Array(header.utf8) + jpeg + Array("\r\n".utf8)
    }

    // MARK: routes

    func route(_ request: HTTPRequest) -> HTTPReply {
        let path = request.path
        switch (request.method, path) {
        case ("GET", "/"), ("GET", "/index.html"):
            return .response(Page.response(mode: "live", title: title))
        case ("GET", "/stream.mjpeg"):
            guard let hub = hubBox.withLock({ $0 }) else { return .response(.text(503, "starting")) }
            return .stream(hub)
        case ("GET", "/frame.json"):
            return .response(.json(frameJSON()))
        case ("GET", "/frame.jpg"):
            return deferredImage { [quality, chroma] frame in
                let (rgb, w, h) = Composite.sideBySide(frame.panels.map { $0.image() })
                let jpeg = try ImageFile.encodeJPEG(rgb8: rgb, width: w, height: h, quality: quality, chroma: chroma)
                return HTTPResponse(contentType: "image/jpeg", headers: Self.frameHeaders(frame), body: jpeg)
            }
        case ("GET", "/api/metrics"):
            return .response(.json(metricsJSON()))
        case ("GET", "/api/client-stats"):
            return .response(.json(clientStatsJSON()))
        case ("POST", "/api/client-stats"):
            recordClientStats(request.body)
            return .response(.json("{}"))
        case ("GET", _) where path.hasPrefix("/frame/") && path.hasSuffix(".png"):
            let name = String(path.dropFirst("/frame/".count).dropLast(".png".count))
            let download = request.query["download"] != nil
            return deferredImage { frame in
                guard let panel = frame.panels.first(where: { $0.name == name }) else {
                    return .text(
                        404, "no panel '\(name)' (panels: \(frame.panels.map(\.name).joined(separator: ", ")))")
                }
                var headers = Self.frameHeaders(frame)
                if download {
                    headers.append(("Content-Disposition", "attachment; filename=\"\(name)-\(frame.frameID).png\""))
                }
                return HTTPResponse(
                    contentType: "image/png", headers: headers, body: try ImageFile.encodePNG(panel.image()))
            }
        case (let m, _) where m != "GET" && m != "POST":
            return .response(.text(405, "method \(m) not allowed"))
        default:
            return .response(.text(404, "no such page: \(path)"))
        }
    }

    static func frameHeaders(_ f: LiveFrame) -> [(String, String)] {
        [("X-Frame-Id", "\(f.frameID)"), ("X-Received-Ms", String(format: "%.3f", f.receivedUnixMs))]
    }

    /// Encodes the newest frame on the encoder queue; 503 before the first frame.
    private func deferredImage(_ make: @escaping @Sendable (LiveFrame) throws -> HTTPResponse) -> HTTPReply {
        guard let frame = state.withLock({ $0.latest }) else { return .response(.text(503, "no frame yet")) }
        return .deferred { [encoder] done in
            encoder.async {
                do { done(try make(frame)) } catch { done(.text(500, "web-view: cannot encode: \(error)")) }
            }
        }
    }

    private func frameJSON() -> String {
        let s = state.withLock { ($0.latest, $0.published, $0.ended) }
        guard let f = s.0 else { return "{\"frame_id\":null,\"published\":0,\"ended\":\(s.2)}" }
        return """
            {"frame_id":\(f.frameID),"received_unix_ms":\(f.receivedUnixMs),"exposure_start_ns":\(f.exposureStart),\
            "exposure_end_ns":\(f.exposureEnd),"latency_ms":\(f.latencyMs),"panels":\(JSON.array(f.panels.map(\.name))),\
            "published":\(s.1),"ended":\(s.2)}
            """
    }

    private func metricsJSON() -> String {
        let s = state.withLock { $0 }
        let hub = hubStatistics()
        let now = Date().timeIntervalSince1970 * 1000
        return """
            {"now_unix_ms":\(now),"pipeline":\(metrics()),"viewer":{"published":\(s.published),\
            "encoded":\(s.encoded),"encode_ms_mean":\(s.encoded > 0 ? s.encodeSeconds * 1000 / Double(s.encoded) : 0),\
            "stream_clients":\(hub.clients),"parts_sent":\(hub.sent),"parts_skipped_slow_clients":\(hub.skipped),\
            "max_fps":\(maxFPS),"ended":\(s.ended)}}
            """
    }

    private func recordClientStats(_ body: [UInt8]) {
        struct Report: Decodable {
            var latencyMs: [Double]
            var shown: Int
            var lastFrameID: Int
        }
        guard let r = try? JSONDecoder().decode(Report.self, from: Data(body)) else { return }
        clientStats.withLock { c in
            c.latencies += r.latencyMs.filter(\.isFinite)
            if c.latencies.count > 10_000 { c.latencies.removeFirst(c.latencies.count - 10_000) }
            c.shown = max(c.shown, r.shown)
            c.lastFrameID = r.lastFrameID
        }
    }

    private func clientStatsJSON() -> String {
        let c = clientStats.withLock { $0 }
        let sorted = c.latencies.sorted()
        func pct(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.down)))]
        }
        return """
            {"shown":\(c.shown),"last_frame_id":\(c.lastFrameID),"display_latency_ms":{"count":\(sorted.count),\
            "p50":\(pct(50)),"p99":\(pct(99)),"max":\(sorted.last ?? 0)}}
            """
    }
}

/// Tiny JSON helpers for the hand-written responses.
enum JSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
    static func array(_ items: [String]) -> String { "[" + items.map(string).joined(separator: ",") + "]" }
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
}

/// Lays panels side by side as 8-bit RGB at the first panel's size (others are resampled,
/// nearest neighbour; grey panels are repeated into the three channels).
public enum Composite {
    public static func sideBySide(_ panels: [Image]) -> (rgb: [UInt8], width: Int, height: Int) {
        guard let first = panels.first else { return ([0, 0, 0], 1, 1) }
        let (pw, ph) = (first.width, first.height)
        let width = pw * panels.count
        var out = [UInt8](repeating: 0, count: width * ph * 3)
        out.withUnsafeMutableBufferPointer { dst in
            for (k, p) in panels.enumerated() {
                p.pixels.withUnsafeBufferPointer { src in
                    for y in 0..<ph {
                        let sy = p.height == ph ? y : min(p.height - 1, y * p.height / ph)
                        for x in 0..<pw {
                            let sx = p.width == pw ? x : min(p.width - 1, x * p.width / pw)
                            let s = (sy * p.width + sx) * p.channels
                            let d = (y * width + k * pw + x) * 3
                            for c in 0..<3 {
                                let v = src[s + (p.channels == 1 ? 0 : c)]
                                dst[d + c] = UInt8(((v > 0 ? min(v, 1) : 0) * 255).rounded(.toNearestOrEven))
                            }
                        }
                    }
                }
            }
        }
        return (out, width, ph)
    }
}
