import Foundation
import SpikeCore

/// The Spk-X4K1000FPS layout, as the reference loader reads it, for a spike length T
/// (33 or 65):
///
/// ```
/// ROOT/{split}_blurry_{T}/SUB/SCENE/NAME.png       blurry RGB (mean of T sharp frames)
/// ROOT/{split}_fullRGB/SUB/SCENE/NAME.png          sharp frame at the window centre
/// ROOT/{split}_spike_2xds_{T}/SUB/SCENE/NAME.dat   the T spike frames, half resolution
/// ```
///
/// The whole `.dat` is the model window; its TFI uses `middle = T/2`.
public struct X4KDataset: Sendable {
    /// The dataset root.
    public let root: URL
    /// `train`, `val` or `test`.
    public let split: String
    /// Spike frames per sample (T).
    public let spikeLength: Int
    /// Every sample, sorted by path.
    public let samples: [DatasetSample]

    /// Lists the samples and checks that every piece is present.
    /// - Parameter spikeGeometry: nil derives it per scene from the first blurry PNG (half size).
    /// - Throws: `DatasetError.missingDirectory` / `.missingFile` naming the missing path,
    ///   `.empty` when there are no samples.
    public init(root: URL, split: String, spikeLength: Int, spikeGeometry: SpikeGeometry? = nil) throws(DatasetError) {
        guard spikeLength > 0 else {
            throw .invalidParameter(name: "spikeLength", problem: "must be positive, got \(spikeLength)")
        }
        self.root = root
        self.split = split
        self.spikeLength = spikeLength
        let blurRoot = root.appendingPathComponent("\(split)_blurry_\(spikeLength)")
        let sharpRoot = root.appendingPathComponent("\(split)_fullRGB")
        let spikeRoot = root.appendingPathComponent("\(split)_spike_2xds_\(spikeLength)")
        try Layout.requireDirectory(blurRoot, role: "\(split)_blurry_\(spikeLength)")
        try Layout.requireDirectory(sharpRoot, role: "\(split)_fullRGB")
        try Layout.requireDirectory(spikeRoot, role: "\(split)_spike_2xds_\(spikeLength)")
        var samples: [DatasetSample] = []
        for sub in Layout.entries(blurRoot) where Layout.isDirectory(blurRoot.appendingPathComponent(sub)) {
            for scene in Layout.entries(blurRoot.appendingPathComponent(sub)) {
                let relative = "\(sub)/\(scene)"
                let blurDir = blurRoot.appendingPathComponent(relative)
                guard Layout.isDirectory(blurDir) else { continue }
                let names = Layout.entries(blurDir).filter { ($0 as NSString).pathExtension.lowercased() == "png" }
                guard let first = names.first else { continue }
                let geometry: SpikeGeometry
                if let spikeGeometry {
                    geometry = spikeGeometry
                } else {
                    geometry = try Layout.halfGeometry(ofPNG: blurDir.appendingPathComponent(first))
                }
                for file in names {
                    let stem = (file as NSString).deletingPathExtension
                    let sharp = sharpRoot.appendingPathComponent(relative).appendingPathComponent(file)
                    let spike = spikeRoot.appendingPathComponent(relative).appendingPathComponent(stem + ".dat")
                    try Layout.requireFile(sharp, role: "sharp image")
                    try Layout.requireFile(spike, role: "spike stream")
                    samples.append(
                        DatasetSample(
                            name: "\(relative)/\(stem)", sequence: relative,
                            blurURL: blurDir.appendingPathComponent(file),
                            sharpURL: sharp, spikeURL: spike, spikeGeometry: geometry, framesPerExposure: spikeLength))
                }
            }
        }
        guard !samples.isEmpty else { throw .empty(path: blurRoot.path, what: "samples") }
        self.samples = samples
    }
}
