import ArgumentParser
import Foundation
import ImageCodecs
import Imaging
import Pipeline
import SpikeCore
import WireProtocol
import ZeroMQ

/// `spkdeblur camera`: a camera emulator publishing a recording in the wire protocol.
struct CameraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "Publish a recording (spikes + RGB frames) over ZeroMQ with real timing, like a live camera.",
        discussion: """
            Spike frames go out in batches (SPK1 messages), each RGB frame (RGB1, PNG payload) when its \
            exposure ends, on one PUB socket (subscribers filter by the magic prefix) or a PUSH socket. \
            The last spike message carries the end-of-stream flag. See docs/protocol.md.
            """)

    @Option(help: "Spike recording: a .dat file or a directory of .dat files (name order).") var spikes: String
    @OptionGroup var sensor: SpikeGeometryOptions
    @Option(help: "Folder of RGB frames (PNG/JPEG, name order).") var rgb: String?
    @Option(help: "Exposure i spans spike frames [i*n, (i+1)*n) (Spk-GoPro layout).") var exposureSpikeFrames: Int?
    @Option(help: "RGB frame rate when --exposure-spike-frames is not given.") var fps: Double = 30
    @Option(help: "Spike frames per second.") var rate: Double = 20_000
    @Option(help: "Endpoint to bind.") var bind: String = "tcp://127.0.0.1:5555"
    @Option(help: "Socket pattern: pub or push.") var pattern: String = "pub"
    @Option(help: "Replay speed (1 = real time) or max.") var speed: String = "1.0"
    @Option(help: "Spike frames per message.") var batch: Int = 100
    @Option(help: "Milliseconds to wait for subscribers before sending.") var waitMs: Int = 500

    func validate() throws {
        guard pattern == "pub" || pattern == "push" else { throw ValidationError("--pattern must be pub or push") }
        guard speed == "max" || (Double(speed) ?? 0) > 0 else {
            throw ValidationError("--speed must be a number > 0 or max")
        }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let geometry = try sensor.geometry()
        var files = [spikes]
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: spikes, isDirectory: &isDir), isDir.boolValue {
            files = try FileManager.default.contentsOfDirectory(atPath: spikes).filter { $0.hasSuffix(".dat") }.sorted()
                .map { (spikes as NSString).appendingPathComponent($0) }
        }
        let dats = try files.map { try DatFile(path: $0, geometry: geometry) }
        let total = dats.reduce(0) { $0 + $1.frameCount }
        let images =
            try rgb.map { dir in
                try FileManager.default.contentsOfDirectory(atPath: dir)
                    .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                    .map { (dir as NSString).appendingPathComponent($0) }
            } ?? []
        // Exposure intervals in spike-clock nanoseconds.
        let exposures: [(Int64, Int64)] = images.indices.map { i in
            if let n = exposureSpikeFrames {
                return (Int64(Double(i * n) / rate * 1e9), Int64(Double((i + 1) * n) / rate * 1e9))
            }
            let s = Int64(Double(i) / fps * 1e9)
            return (s, s + Int64(1e9 / fps))
        }
        let context = try Context()
        let socket = try Socket(context, type: pattern == "pub" ? .pub : .push)
        try socket.setSendHighWaterMark(100_000)
        try socket.bind(bind)
        Thread.sleep(forTimeInterval: Double(waitMs) / 1000)
        let factor = speed == "max" ? nil : Double(speed)
        let start = ContinuousClock.now
        func pace(_ mediaNs: Int64) {
            guard let factor else { return }
            let due = start + .nanoseconds(Int64(Double(mediaNs) / factor))
            let now = ContinuousClock.now
            if due > now { Thread.sleep(forTimeInterval: (due - now).seconds) }
        }
        var sequence: UInt64 = 0, rgbSequence: UInt64 = 0, next = 0, sentFrames = 0
        var global = 0
        for dat in dats {
            var i = 0
            while i < dat.frameCount {
                let n = min(batch, dat.frameCount - i)
                let endNs = Int64(Double(global + i + n) / rate * 1e9)
                // RGB frames whose exposure has ended go out first.
                while next < images.count && exposures[next].1 <= endNs {
                    pace(exposures[next].1)
                    let image = try ImageFile.read(URL(fileURLWithPath: images[next])).rgb()
                    let message = RGBMessage(
                        pixelFormat: .png, width: image.width, height: image.height,
                        payload: try ImageFile.encodePNG(image), sequence: rgbSequence, frameID: UInt64(next),
                        exposureStartNanoseconds: exposures[next].0, exposureEndNanoseconds: exposures[next].1)
                    _ = try socket.send(parts: message.encoded())
                    rgbSequence += 1
                    next += 1
                }
                pace(endNs)
                let last = global + i + n == total
                let message = SpikeMessage(
                    frames: try dat.read(i..<(i + n)), sequence: sequence, firstFrameIndex: UInt64(global + i),
                    spikeRateHz: rate, flags: last ? [.endOfStream] : [])
                _ = try socket.send(parts: message.encoded())
                sequence += 1
                sentFrames += n
                i += n
            }
            global += dat.frameCount
        }
        print(
            "camera: sent \(sentFrames) spike frames in \(sequence) messages and \(rgbSequence) RGB frames on \(bind)")
        Thread.sleep(forTimeInterval: 0.2)  // let the last messages leave before the socket closes
        socket.close()
    }
}
