import Foundation
import Imaging
import SpikeCore

/// Writes a synthetic dataset in the Spk-GoPro layout (see `GoProDataset`) from sharp
/// images, with `MotionBlurSynthesizer` doing the rendering.
///
/// Each sequence pans over one source image (images are used in turn) and is named
/// `SIMxxxx_NN_00`, NN = sharp frames per exposure, so the layout reader recovers it. A
/// sequence is one continuous spike recording cut into one `.dat` per blurry frame (8N spike
/// frames each, centred on the ground-truth frame), as the reference cut its GoPro streams.
public struct SpkGoProSimulation: Sendable {
    /// What one run produced.
    public struct Summary: Sendable {
        /// Sequence directory names written.
        public var sequences: [String] = []
        /// Blurry/sharp/spike triples written.
        public var samples = 0
        /// Spike frames written in all.
        public var spikeFrames = 0
    }

    /// The split directory written (`train` or `test`).
    public var split: GoProDataset.Split
    /// Number of sequences (the images are used in turn).
    public var sequences: Int
    /// Blurry frames per sequence.
    public var framesPerSequence: Int
    /// Base seed; sequence i uses `seed + i`.
    public var seed: UInt64
    /// Rendering parameters.
    public var configuration: MotionBlurSynthesizer.Configuration

    public init(
        split: GoProDataset.Split = .train, sequences: Int, framesPerSequence: Int = 4, seed: UInt64 = 0,
        configuration: MotionBlurSynthesizer.Configuration = .init()
    ) {
        self.split = split
        self.sequences = sequences
        self.framesPerSequence = framesPerSequence
        self.seed = seed
        self.configuration = configuration
    }

    /// Renders and writes the dataset under `root`.
    /// - Parameters:
    ///   - images: Source image files, used in turn.
    ///   - read: Decodes an image file.
    ///   - write: Encodes an image (3 channels) as PNG at a URL.
    /// - Throws: `DatasetError` for bad parameters, unreadable images, or write failures.
    public func run(
        images: [URL], root: URL,
        read: (URL) throws -> Image,
        write: (Image, URL) throws -> Void
    ) throws(DatasetError) -> Summary {
        guard !images.isEmpty else { throw .invalidParameter(name: "images", problem: "no source images") }
        guard sequences >= 1, framesPerSequence >= 1 else {
            throw .invalidParameter(name: "sequences", problem: "need at least one sequence of at least one frame")
        }
        var summary = Summary()
        let c = configuration
        for index in 0..<sequences {
            let imageURL = images[index % images.count]
            let source: Image
            do { source = try read(imageURL) } catch { throw .image(path: imageURL.path, reason: "\(error)") }
            var synth = try MotionBlurSynthesizer(
                image: source.pixels, width: source.width, height: source.height, channels: source.channels,
                exposures: framesPerSequence, configuration: c, seed: seed &+ UInt64(index))
            let name = GoProDataset.sequenceName(
                prefix: "SIM", index: index, framesPerExposure: c.sharpFramesPerExposure)
            let rgbDir = root.appendingPathComponent("GOPRO_Large/\(split.rawValue)/\(name)")
            let blurDir = rgbDir.appendingPathComponent("blur_gamma")
            let sharpDir = rgbDir.appendingPathComponent("sharp")
            let spikeDir = root.appendingPathComponent("GOPRO_Large_spike_seq/\(split.rawValue)/\(name)/spike")
            for dir in [blurDir, sharpDir, spikeDir] {
                do {
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                } catch {
                    throw .image(path: dir.path, reason: "cannot create directory: \(error.localizedDescription)")
                }
            }
            for frame in 0..<framesPerSequence {
                let exposure = synth.nextExposure()
                let stem = String(frame).leftPadded(to: 6)
                let blurURL = blurDir.appendingPathComponent(stem + ".png")
                let sharpURL = sharpDir.appendingPathComponent(stem + ".png")
                do {
                    try write(Image(width: c.width, height: c.height, channels: 3, pixels: exposure.blur), blurURL)
                } catch { throw .image(path: blurURL.path, reason: "cannot write: \(error)") }
                do {
                    try write(Image(width: c.width, height: c.height, channels: 3, pixels: exposure.sharp), sharpURL)
                } catch { throw .image(path: sharpURL.path, reason: "cannot write: \(error)") }
                do throws(SpikeError) {
                    let writer = try DatWriter(
                        path: spikeDir.appendingPathComponent(stem + ".dat").path, geometry: exposure.spikes.geometry)
                    try writer.append(exposure.spikes)
                    try writer.close()
                } catch {
                    throw .spikes(error)
                }
                summary.samples += 1
                summary.spikeFrames += exposure.spikes.count
            }
            summary.sequences.append(name)
        }
        return summary
    }
}
