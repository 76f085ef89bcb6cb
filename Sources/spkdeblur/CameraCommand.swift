import ArgumentParser
import Foundation
import SpikeCore
import Stages

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
        guard speed == "max" || Double(speed) != nil else {
            throw ValidationError("--speed must be a number in 0.001...1000 or max")
        }
    }

    func run() throws {
        let geometry = try sensor.geometry()
        var files = [spikes]
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: spikes, isDirectory: &isDir), isDir.boolValue {
            files = try FileManager.default.contentsOfDirectory(atPath: spikes).filter { $0.hasSuffix(".dat") }.sorted()
                .map { (spikes as NSString).appendingPathComponent($0) }
        }
        let images =
            try rgb.map { dir in
                try FileManager.default.contentsOfDirectory(atPath: dir)
                    .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                    .map { (dir as NSString).appendingPathComponent($0) }
            } ?? []
        let camera = try CameraEmulator(
            .init(
                spikeFiles: files, geometry: geometry, images: images, exposureSpikeFrames: exposureSpikeFrames,
                fps: fps, rate: rate, endpoint: bind, push: pattern == "push",
                speed: speed == "max" ? nil : Double(speed), batch: batch, waitMilliseconds: waitMs))
        let sent = try camera.run()
        print(
            "camera: sent \(sent.spikeFrames) spike frames in \(sent.spikeMessages) messages and \(sent.rgbFrames) RGB frames on \(bind)"
        )
    }
}
