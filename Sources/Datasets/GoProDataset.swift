import Foundation
import SpikeCore

/// The Spk-GoPro layout, as the reference loader reads it:
///
/// ```
/// ROOT/GOPRO_Large/{train,test}/SEQ/blur_gamma/NAME.png   blurry RGB (1280x720)
/// ROOT/GOPRO_Large/{train,test}/SEQ/sharp/NAME.png        sharp ground truth
/// ROOT/GOPRO_Large_spike_seq/{train,test}/SEQ/spike/NAME.dat  spikes at half resolution
/// ```
///
/// A sequence named like `GOPR0372_07_00` averaged 7 sharp frames per blurry one; its `.dat`
/// files hold 8 spike frames per sharp frame (56 for 7), and the model takes the central
/// T = 56 frames.
public struct GoProDataset: Sendable {
    /// Which half of the dataset.
    public enum Split: String, Sendable, CaseIterable {
        case train, test
    }

    /// The dataset root (the directory holding `GOPRO_Large`).
    public let root: URL
    /// The split read.
    public let split: Split
    /// Every sample, sorted by sequence then name.
    public let samples: [DatasetSample]

    /// The spike window length of the published GoPro checkpoints.
    public static let modelSpikeFrames = 56
    /// Spike frames recorded per sharp frame.
    public static let spikeFramesPerSharpFrame = 8

    /// Lists the samples of `split` and checks that every piece is present.
    /// - Parameters:
    ///   - spikeGeometry: The spike frame size; nil derives it per sequence from the first
    ///     blurry PNG (half its size; 360x640 for the real dataset).
    /// - Throws: `DatasetError.missingDirectory` / `.missingFile` naming the missing path,
    ///   `.empty` when the split has no samples.
    public init(root: URL, split: Split, spikeGeometry: SpikeGeometry? = nil) throws(DatasetError) {
        self.root = root
        self.split = split
        let rgbRoot = root.appendingPathComponent("GOPRO_Large").appendingPathComponent(split.rawValue)
        let spikeRoot = root.appendingPathComponent("GOPRO_Large_spike_seq").appendingPathComponent(split.rawValue)
        try Layout.requireDirectory(rgbRoot, role: "GOPRO_Large/\(split.rawValue)")
        try Layout.requireDirectory(spikeRoot, role: "GOPRO_Large_spike_seq/\(split.rawValue)")
        var samples: [DatasetSample] = []
        for sequence in Layout.entries(rgbRoot) where Layout.isDirectory(rgbRoot.appendingPathComponent(sequence)) {
            let seqURL = rgbRoot.appendingPathComponent(sequence)
            let blurDir = seqURL.appendingPathComponent("blur_gamma")
            let sharpDir = seqURL.appendingPathComponent("sharp")
            let spikeDir = spikeRoot.appendingPathComponent(sequence).appendingPathComponent("spike")
            try Layout.requireDirectory(blurDir, role: "blur_gamma")
            try Layout.requireDirectory(sharpDir, role: "sharp")
            try Layout.requireDirectory(spikeDir, role: "spike")
            let names = Layout.entries(blurDir).filter {
                Layout.imageExtensions.contains(($0 as NSString).pathExtension.lowercased())
            }
            guard let first = names.first else { continue }
            let geometry: SpikeGeometry
            if let spikeGeometry {
                geometry = spikeGeometry
            } else {
                geometry = try Layout.halfGeometry(ofPNG: blurDir.appendingPathComponent(first))
            }
            let perExposure = Self.framesPerExposure(sequence: sequence)
            for file in names {
                let stem = (file as NSString).deletingPathExtension
                let blur = blurDir.appendingPathComponent(file)
                let sharp = sharpDir.appendingPathComponent(file)
                let spike = spikeDir.appendingPathComponent(stem + ".dat")
                try Layout.requireFile(sharp, role: "sharp image")
                try Layout.requireFile(spike, role: "spike stream")
                samples.append(
                    DatasetSample(
                        name: "\(sequence)/\(stem)", sequence: sequence, blurURL: blur, sharpURL: sharp,
                        spikeURL: spike, spikeGeometry: geometry, framesPerExposure: perExposure))
            }
        }
        guard !samples.isEmpty else { throw .empty(path: rgbRoot.path, what: "samples") }
        self.samples = samples
    }

    /// The sharp frames per exposure encoded in a GoPro sequence name (`GOPR0372_07_00` -> 7),
    /// as the reference reads it (the second `_`-separated field); nil when absent.
    public static func framesPerExposure(sequence: String) -> Int? {
        let parts = sequence.split(separator: "_")
        guard parts.count >= 2, let n = Int(parts[1]), n > 0 else { return nil }
        return n
    }

    /// The sequence directory name for a synthetic sequence in this layout.
    public static func sequenceName(prefix: String, index: Int, framesPerExposure: Int) -> String {
        let id = String(index).leftPadded(to: 4)
        let per = String(framesPerExposure).leftPadded(to: 2)
        return "\(prefix)\(id)_\(per)_00"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
