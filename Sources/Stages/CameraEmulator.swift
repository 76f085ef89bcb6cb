import Foundation
import ImageCodecs
import Imaging
import Pipeline
import SpikeCore
import WireProtocol
import ZeroMQ

/// A camera emulator (`spkdeblur camera`): publishes a recording in the wire protocol
/// (docs/protocol.md) with the recording's timing. Spike frames go out in batches (SPK1),
/// each RGB frame (RGB1, PNG payload) once its exposure has ended; the last spike message
/// carries the end-of-stream flag.
///
/// Every setting is checked when the emulator is made (``Settings/problem``), and every time
/// stamp is computed with checked conversions, so no value from the user can trap.
public struct CameraEmulator: Sendable {
    /// What to publish and how.
    public struct Settings: Sendable {
        /// `.dat` files, replayed in order as one stream.
        public var spikeFiles: [String]
        public var geometry: SpikeGeometry
        /// RGB image files, in order.
        public var images: [String]
        /// Exposure i spans spike frames `[i*n, (i+1)*n)`; otherwise `1/fps` long every `1/fps`.
        public var exposureSpikeFrames: Int?
        public var fps: Double
        /// Spike frames per second.
        public var rate: Double
        public var endpoint: String
        public var push: Bool
        /// Replay speed factor (1 = real time), nil for as fast as possible.
        public var speed: Double?
        /// Spike frames per message.
        public var batch: Int
        /// Time for subscribers to connect before the first message.
        public var waitMilliseconds: Int

        public init(
            spikeFiles: [String], geometry: SpikeGeometry, images: [String], exposureSpikeFrames: Int?, fps: Double,
            rate: Double, endpoint: String, push: Bool, speed: Double?, batch: Int, waitMilliseconds: Int
        ) {
            self.spikeFiles = spikeFiles
            self.geometry = geometry
            self.images = images
            self.exposureSpikeFrames = exposureSpikeFrames
            self.fps = fps
            self.rate = rate
            self.endpoint = endpoint
            self.push = push
            self.speed = speed
            self.batch = batch
            self.waitMilliseconds = waitMilliseconds
        }

        /// The first setting out of range, as a one-line message naming the option.
        public var problem: String? {
            if !(rate >= 1 && rate <= 1e9) { return "--rate \(rate) must be in 1...1e9 spike frames per second" }
            if !(fps >= 0.001 && fps <= 100_000) { return "--fps \(fps) must be in 0.001...100000" }
            if let s = speed, !(s >= 0.001 && s <= 1000) { return "--speed \(s) must be in 0.001...1000 or max" }
            if let n = exposureSpikeFrames, !(1...(1 << 31)).contains(n) {
                return "--exposure-spike-frames \(n) must be in 1...\(1 << 31)"
            }
            if !(1...1_000_000).contains(batch) { return "--batch \(batch) must be in 1...1000000" }
            if !(0...600_000).contains(waitMilliseconds) {
                return "--wait-ms \(waitMilliseconds) must be in 0...600000"
            }
            return nil
        }
    }

    /// What was sent.
    public struct Summary: Sendable {
        public var spikeFrames = 0
        public var spikeMessages = 0
        public var rgbFrames = 0
    }

    public let settings: Settings

    /// - Throws: ``StageError`` naming the option out of range.
    public init(_ settings: Settings) throws {
        if let problem = settings.problem { throw StageError("camera: \(problem)") }
        self.settings = settings
    }

    /// Nanoseconds of `frames` spike frames (or `seconds` of media time), or an error when the
    /// time does not fit in the wire's signed 64-bit nanoseconds.
    private static func nanoseconds(_ seconds: Double, what: String) throws -> Int64 {
        let ns = (seconds * 1e9).rounded(.down)
        guard ns.isFinite, ns >= -9.2e18, ns <= 9.2e18 else {
            throw StageError("camera: \(what) at \(seconds) s does not fit the wire's 64-bit nanoseconds")
        }
        return Int64(ns)
    }

    /// Exposure intervals in spike-clock nanoseconds, one per image.
    func exposures() throws -> [(start: Int64, end: Int64)] {
        let s = settings
        return try s.images.indices.map { i in
            if let n = s.exposureSpikeFrames {
                let (first, firstOverflow) = i.multipliedReportingOverflow(by: n)
                let (last, lastOverflow) = (i + 1).multipliedReportingOverflow(by: n)
                guard !firstOverflow, !lastOverflow else {
                    throw StageError("camera: exposure \(i) of \(n) spike frames overflows the frame index")
                }
                return (
                    try Self.nanoseconds(Double(first) / s.rate, what: "exposure \(i)"),
                    try Self.nanoseconds(Double(last) / s.rate, what: "exposure \(i)")
                )
            }
            let start = try Self.nanoseconds(Double(i) / s.fps, what: "exposure \(i)")
            let end = try Self.nanoseconds(Double(i) / s.fps + 1 / s.fps, what: "exposure \(i)")
            return (start, end)
        }
    }

    /// Opens the recording, binds, waits for subscribers, publishes everything and closes.
    public func run() throws -> Summary {
        let s = settings
        let dats = try s.spikeFiles.map { try DatFile(path: $0, geometry: s.geometry) }
        let total = dats.reduce(0) { $0 + $1.frameCount }
        let exposures = try exposures()
        let context = try Context()
        let socket = try Socket(context, type: s.push ? .push : .pub)
        defer { socket.close() }
        try socket.setSendHighWaterMark(100_000)
        try socket.bind(s.endpoint)
        Thread.sleep(forTimeInterval: Double(s.waitMilliseconds) / 1000)
        let start = ContinuousClock.now
        func pace(_ mediaNs: Int64) {
            guard let factor = s.speed else { return }
            // Bounded: media time is at most ~2^63 ns, the factor at least 0.001.
            let wait = Double(mediaNs) / factor / 1e9 - (ContinuousClock.now - start).seconds
            if wait > 0 { Thread.sleep(forTimeInterval: min(wait, 86_400)) }
        }
        var summary = Summary()
        var rgbSequence: UInt64 = 0, next = 0, global = 0
        for dat in dats {
            var i = 0
            while i < dat.frameCount {
                let n = min(s.batch, dat.frameCount - i)
                let endNs = try Self.nanoseconds(Double(global + i + n) / s.rate, what: "spike frame \(global + i + n)")
                // RGB frames whose exposure has ended go out first.
                while next < s.images.count && exposures[next].end <= endNs {
                    pace(exposures[next].end)
                    let image = try ImageFile.read(URL(fileURLWithPath: s.images[next])).rgb()
                    let message = RGBMessage(
                        pixelFormat: .png, width: image.width, height: image.height,
                        payload: try ImageFile.encodePNG(image), sequence: rgbSequence, frameID: UInt64(next),
                        exposureStartNanoseconds: exposures[next].start, exposureEndNanoseconds: exposures[next].end)
                    _ = try socket.send(parts: message.encoded())
                    rgbSequence += 1
                    next += 1
                }
                pace(endNs)
                let last = global + i + n == total
                let message = SpikeMessage(
                    frames: try dat.read(i..<(i + n)), sequence: UInt64(summary.spikeMessages),
                    firstFrameIndex: UInt64(global + i), spikeRateHz: s.rate, flags: last ? [.endOfStream] : [])
                _ = try socket.send(parts: message.encoded())
                summary.spikeMessages += 1
                summary.spikeFrames += n
                i += n
            }
            global += dat.frameCount
        }
        summary.rgbFrames = Int(rgbSequence)
        Thread.sleep(forTimeInterval: 0.2)  // let the last messages leave before the socket closes
        return summary
    }
}
