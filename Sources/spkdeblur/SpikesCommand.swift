import ArgumentParser
import Foundation
import SpikeCore

/// `spkdeblur spikes ...`: tools for raw `.dat` spike streams.
struct SpikesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikes",
        abstract: "Inspect raw .dat spike streams.",
        subcommands: [SpikesInfoCommand.self]
    )
}

/// `spkdeblur spikes info FILE.dat --height H --width W`: frame count, duration, firing rate.
struct SpikesInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print frame count, duration and mean firing rate of a .dat spike stream."
    )

    @Argument(help: "The .dat file (frames of H*W/8 bytes, no header).")
    var file: String

    @OptionGroup var sensor: SpikeGeometryOptions

    @Option(help: "Spike frame rate in Hz, for the duration.")
    var rate: Double = 20_000

    @Flag(help: "Accept a file that ends in a partial frame (the tail is reported, not read).")
    var lenient = false

    func validate() throws {
        guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be positive, got \(rate)") }
    }

    func run() throws {
        let geometry = try sensor.geometry()
        let dat = try DatFile(path: file, geometry: geometry, strict: !lenient)
        // Count spikes a chunk at a time so huge recordings never sit in memory at once.
        var spikes = 0
        let chunk = max(1, (64 << 20) / geometry.bytesPerFrame)
        var start = 0
        while start < dat.frameCount {
            let end = min(start + chunk, dat.frameCount)
            spikes += try dat.read(start..<end).spikeCount
            start = end
        }
        let pixelFrames = Double(dat.frameCount) * Double(geometry.pixelCount)
        let perFrame = pixelFrames > 0 ? Double(spikes) / pixelFrames : 0
        print("file: \(file)")
        print("geometry: \(geometry.height)x\(geometry.width) (\(geometry.bytesPerFrame) bytes per frame)")
        print("frames: \(dat.frameCount)")
        if dat.trailingBytes > 0 {
            print("trailing bytes not read: \(dat.trailingBytes) (partial frame)")
        }
        print("duration: \(format(Double(dat.frameCount) / rate * 1000, 3)) ms at \(format(rate, 0)) Hz")
        print("spikes: \(spikes)")
        print(
            "mean firing rate: \(format(perFrame, 5)) spikes/pixel/frame (\(format(perFrame * rate, 1)) Hz per pixel)")
    }
}

/// Fixed-point formatting for command output.
func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
