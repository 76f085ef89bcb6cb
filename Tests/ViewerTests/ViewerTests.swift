import Foundation
import Imaging
import Testing

@testable import Viewer

/// Resident memory of this process in bytes (Linux `/proc/self/statm`).
private func residentBytes() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A TCP connection that sends one request and then never reads: a stalled browser.
private func stalledClient(port: Int, request: String) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    // A small receive buffer, so the server's writes back up quickly.
    var small: Int32 = 4096
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else { throw ViewerError("connect failed") }
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    return fd
}

/// A 500x800 test frame whose content changes with `i`.
private func frame(_ i: Int, _ image: Image) -> LiveFrame {
    LiveFrame(
        frameID: i, receivedUnixMs: Date().timeIntervalSince1970 * 1000, exposureStart: Int64(i),
        exposureEnd: Int64(i + 1), latencyMs: 1,
        panels: [
            Panel(name: "blur") { image }, Panel(name: "recon") { image.grey() }, Panel(name: "sharp") { image },
        ])
}

@Suite struct ViewerTests {
    @Test func compositeLaysPanelsSideBySideAndRepeatsGrey() {
        let rgb = Image(width: 2, height: 1, channels: 3, pixels: [1, 0, 0, 0, 1, 0])
        let grey = Image(width: 1, height: 1, channels: 1, pixels: [0.5])
        let (bytes, w, h) = Composite.sideBySide([rgb, grey])
        #expect(w == 4 && h == 1)
        #expect(bytes == [255, 0, 0, 0, 255, 0, 128, 128, 128, 128, 128, 128])
    }

    @Test func queriesAreSplitAndDecoded() {
        let (path, query) = ConnectionHandler.split("/frame/a%20b.png?download&x=1%2B2")
        #expect(path == "/frame/a b.png")
        #expect(query == ["download": "", "x": "1+2"])
    }

    @Test func bindingAnAddressInUseIsOneLineError() async throws {
        let first = try await HTTPServer(host: "127.0.0.1", port: 0) { _ in .response(.text(200, "ok")) }
        defer { Task { await first.shutdown() } }
        await #expect(throws: ViewerError.self) {
            _ = try await HTTPServer(host: "127.0.0.1", port: first.port) { _ in .response(.text(200, "ok")) }
        }
    }

    /// A client that connects to the stream and reads nothing: `publish` stays as cheap as
    /// with no client, the hub skips frames for it, and memory does not grow with frames.
    @Test func aStalledStreamClientNeverSlowsPublishingNorGrowsMemory() async throws {
        let viewer = LiveViewer(title: "test", maxFPS: 240, quality: 85, metrics: { "{}" })
        let server = try await viewer.start(host: "127.0.0.1", port: 0)
        let pixels = (0..<(500 * 800 * 3)).map { Float($0 % 251) / 250 }
        let image = Image(width: 800, height: 500, channels: 3, pixels: pixels)

        func publish(_ n: Int, from base: Int) -> Duration {
            let clock = ContinuousClock()
            return clock.measure {
                for i in 0..<n { viewer.publish(frame(base + i, image)) }
            }
        }
        let alone = publish(2000, from: 0)
        let fd = try stalledClient(port: server.port, request: "GET /stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
        defer { close(fd) }
        try await Task.sleep(for: .milliseconds(300))
        let before = residentBytes()
        // Frames at full speed for ~1.5 s while the client reads nothing.
        var stalled = Duration.zero
        var published = 2000
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(1500) {
            stalled += publish(500, from: published)
            published += 500
            try await Task.sleep(for: .milliseconds(5))
        }
        let after = residentBytes()
        let perFrameAlone = alone / 2000
        let perFrameStalled = stalled / (published - 2000)
        // Publishing is a lock and a store: microseconds, with or without the stalled client.
        #expect(perFrameStalled < .microseconds(200), "publish took \(perFrameStalled) per frame")
        #expect(perFrameStalled < perFrameAlone * 20 + .microseconds(20), "\(perFrameAlone) -> \(perFrameStalled)")
        let stats = try await server.eventLoop.submit { viewer.hubStatistics() }.get()
        #expect(stats.clients == 1)
        // The client's socket took at most a few parts; every other frame was skipped for it.
        #expect(stats.sent < 50, "parts written to a client that reads nothing: \(stats.sent)")
        // One frame's worth of buffers at most (parts are ~0.3 MB; frames are shared, not copied).
        #expect(after - before < 64 << 20, "resident memory grew by \(after - before) bytes")
        await viewer.stop()
    }
}
