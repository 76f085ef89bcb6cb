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

    @Option(help: "Largest camera speed, output pixels per sharp frame.")
    var maxSpeed: Float = 2.5

    func validate() throws {
        guard GoProDataset.Split(rawValue: split) != nil else {
            throw ValidationError("--split must be train or test, got \(split)")
        }
        guard framesPerSequence >= 1 else { throw ValidationError("--frames-per-sequence must be at least 1") }
        if let sequences, sequences < 1 { throw ValidationError("--sequences must be at least 1") }
        guard threshold > 0, threshold.isFinite else { throw ValidationError("--threshold must be positive") }
        guard sharpFrames >= 1, sharpFrames % 2 == 1 else { throw ValidationError("--sharp-frames must be odd") }
        guard width >= 2, height >= 2, width % 2 == 0, height % 2 == 0, (width / 2 * height / 2) % 8 == 0 else {
            throw ValidationError("--width and --height must be even, with (width/2)*(height/2) a multiple of 8")
        }
        guard maxSpeed >= 0.5, maxSpeed.isFinite else { throw ValidationError("--max-speed must be at least 0.5") }
    }

    func run() throws {
        let sources = try DatasetImages.imageFiles(in: URL(fileURLWithPath: images))
        let simulation = SpkGoProSimulation(
            split: GoProDataset.Split(rawValue: split) ?? .train,
            sequences: sequences ?? sources.count,
            framesPerSequence: framesPerSequence,
            seed: seed,
            configuration: .init(
                width: width, height: height, sharpFramesPerExposure: sharpFrames, threshold: threshold,
                speed: 0.5...maxSpeed))
        let summary = try simulation.run(
            images: sources, root: URL(fileURLWithPath: out),
            read: DatasetImages.readPicture, write: DatasetImages.writePNG)
        print(
            "wrote \(summary.sequences.count) sequences, \(summary.samples) samples"
                + " (\(summary.spikeFrames) spike frames at \(width / 2)x\(height / 2)) under \(out)")
    }
}
