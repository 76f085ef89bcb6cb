import ArgumentParser
import Datasets
import Foundation

/// `spkdeblur simulate`: synthesise a Spk-GoPro-layout dataset from sharp images.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Synthesise a Spk-GoPro-layout dataset (blurry, sharp, spikes) from sharp images.",
        discussion: """
            Each sequence pans a virtual camera over one image (images are used in turn) at a random \
            speed and direction, with sub-pixel bilinear sampling. Every blurry frame is the mean of N \
            sharp frames (--sharp-frames, odd, default 7 like GoPro's _07_ sequences); the ground truth \
            is the middle one. Spikes come from an integrate-and-fire simulator at half resolution, 8 \
            spike frames per sharp frame, so each .dat holds 8N frames centred on the ground truth \
            (56 for N = 7: exactly the model's T = 56 window).
            Output: ROOT/GOPRO_Large/SPLIT/SIMxxxx_NN_00/{blur_gamma,sharp}/NNNNNN.png and \
            ROOT/GOPRO_Large_spike_seq/SPLIT/SIMxxxx_NN_00/spike/NNNNNN.dat.
            """
    )

    @Option(help: "Directory of sharp source images (PNG or JPEG).")
    var images: String

    @Option(help: "Dataset root to write.")
    var out: String

    @Option(help: "Split directory to write: train or test.")
    var split: String = "train"

    @Option(help: "Number of sequences (default: one per image).")
    var sequences: Int?

    @Option(help: "Blurry frames per sequence.")
    var framesPerSequence: Int = 4

    @Option(help: "Random seed (sequence i uses seed + i).")
    var seed: UInt64 = 0

    @Option(help: "Integrate-and-fire threshold (2.0: TFI / 0.5 then equals the grey level).")
    var threshold: Float = 2.0

    @Option(help: "Output RGB width (spikes are half).")
    var width: Int = 256

    @Option(help: "Output RGB height (spikes are half).")
    var height: Int = 256

    @Option(help: "Sharp frames averaged per blurry frame (odd).")
    var sharpFrames: Int = 7

    @Option(help: "Largest camera speed for --motion pan, output pixels per sharp frame.")
    var maxSpeed: Float = 2.5

    @Option(
        help: """
            Motion model: pan (a straight pan at a random speed and direction) or handheld \
            (pan + shake + a little rotation and zoom + up to three independently moving objects, \
            blur extents from none to --max-blur of the width).
            """)
    var motion: String = "pan"

    @Option(help: "Largest blur extent for --motion handheld, as a fraction of the width per exposure (0-0.5).")
    var maxBlur: Float = 0.1

    @Option(help: "Threshold multiplier range LO:HI, drawn log-uniformly per sequence (e.g. 0.6:1.7).")
    var thresholdScale: String = "1:1"

    @Option(help: "Per-pixel relative threshold spread (fixed-pattern noise, 0-0.5).")
    var thresholdSpread: Float = 0

    @Option(help: "Spurious spike probability per pixel and spike frame (0-0.5), or a range LO:HI drawn per sequence.")
    var spuriousRate: String = "0"

    /// `LO:HI` (or one number) as a finite, ordered range within `limits`.
    static func parseRange(
        _ text: String, option: String, limits: ClosedRange<Float> = 0.01...100
    ) throws -> ClosedRange<Float> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Float(String($0)) }
        let values = parts.compactMap { $0 }
        guard values.count == parts.count, (1...2).contains(values.count), let lo = values.first,
            let hi = values.last, lo <= hi, limits.contains(lo), limits.contains(hi)
        else {
            throw ValidationError(
                "\(option) must be LO:HI or one value, within \(limits.lowerBound)...\(limits.upperBound), got '\(text)'"
            )
        }
        return lo...hi
    }

    func validate() throws {
        guard GoProDataset.Split(rawValue: split) != nil else {
            throw ValidationError("--split must be train or test, got \(split)")
        }
        guard framesPerSequence >= 1 else { throw ValidationError("--frames-per-sequence must be at least 1") }
        if let sequences, !(1...1_000_000).contains(sequences) {
            throw ValidationError("--sequences must be 1...1000000")
        }
        guard threshold > 0, threshold.isFinite else { throw ValidationError("--threshold must be positive") }
        guard sharpFrames >= 1, sharpFrames % 2 == 1 else { throw ValidationError("--sharp-frames must be odd") }
        guard width >= 2, height >= 2, width % 2 == 0, height % 2 == 0, (width / 2 * height / 2) % 8 == 0 else {
            throw ValidationError("--width and --height must be even, with (width/2)*(height/2) a multiple of 8")
        }
        guard maxSpeed >= 0.5, maxSpeed.isFinite, maxSpeed <= 1000 else {
            throw ValidationError("--max-speed must be 0.5...1000")
        }
        guard ["pan", "handheld"].contains(motion) else {
            throw ValidationError("--motion must be pan or handheld, got \(motion)")
        }
        guard maxBlur >= 0, maxBlur <= 0.5 else { throw ValidationError("--max-blur must be 0...0.5") }
        _ = try Self.parseRange(thresholdScale, option: "--threshold-scale")
        guard thresholdSpread >= 0, thresholdSpread <= 0.5 else {
            throw ValidationError("--threshold-spread must be 0...0.5")
        }
        _ = try Self.parseRange(spuriousRate, option: "--spurious-rate", limits: 0...0.5)
        guard width <= 16384, height <= 16384 else { throw ValidationError("--width and --height must be <= 16384") }
    }

    func run() throws {
        let sources = try DatasetImages.imageFiles(in: URL(fileURLWithPath: images))
        let simulation = SpkGoProSimulation(
            split: GoProDataset.Split(rawValue: split) ?? .train,
            sequences: sequences ?? sources.count,
            framesPerSequence: framesPerSequence,
            seed: seed,
            configuration: .init(
                width: width, height: height, sharpFramesPerExposure: sharpFrames,
                motion: motion == "handheld"
                    ? .handheld(width: width, sharpFrames: sharpFrames, maxBlur: maxBlur) : .pan(speed: 0.5...maxSpeed),
                sensor: SensorModel(
                    threshold: threshold,
                    thresholdScale: try Self.parseRange(thresholdScale, option: "--threshold-scale"),
                    thresholdSpread: thresholdSpread,
                    spuriousRate: try Self.parseRange(spuriousRate, option: "--spurious-rate", limits: 0...0.5))))
        let summary = try simulation.run(
            images: sources, root: URL(fileURLWithPath: out),
            read: DatasetImages.readSource, write: DatasetImages.writePNG)
        print(
            "wrote \(summary.sequences.count) sequences, \(summary.samples) samples"
                + " (\(summary.spikeFrames) spike frames at \(width / 2)x\(height / 2)) under \(out)")
    }
}
