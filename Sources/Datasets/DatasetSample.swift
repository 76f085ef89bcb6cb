import Foundation
import SpikeCore

/// One training/test sample of a spike-deblurring dataset: a blurry RGB frame, its sharp
/// ground truth, and the spike stream recorded during the exposure (at half resolution).
public struct DatasetSample: Sendable, Hashable {
    /// `SEQUENCE/NAME` (e.g. `GOPR0372_07_00/000047`), unique within a split.
    public let name: String
    /// The sequence directory name.
    public let sequence: String
    /// The blurry RGB image.
    public let blurURL: URL
    /// The sharp ground-truth RGB image.
    public let sharpURL: URL
    /// The `.dat` spike stream for this exposure.
    public let spikeURL: URL
    /// The spike frame size (half the RGB size).
    public let spikeGeometry: SpikeGeometry
    /// Sharp frames averaged into the blurry one, when the layout records it (Spk-GoPro's
    /// sequence names `NAME_07_00` say 7); the `.dat` then holds 8 spike frames per sharp frame.
    public let framesPerExposure: Int?

    public init(
        name: String, sequence: String, blurURL: URL, sharpURL: URL, spikeURL: URL,
        spikeGeometry: SpikeGeometry, framesPerExposure: Int?
    ) {
        self.name = name
        self.sequence = sequence
        self.blurURL = blurURL
        self.sharpURL = sharpURL
        self.spikeURL = spikeURL
        self.spikeGeometry = spikeGeometry
        self.framesPerExposure = framesPerExposure
    }

    /// The `length` spike frames centred on the middle of the sample's stream (frames
    /// `n/2 - length/2 ..< n/2 - length/2 + length`, as the reference loaders cut them), packed.
    /// - Throws: `DatasetError.missingFile` when the `.dat` is gone, `.spikes` when it is
    ///   malformed or shorter than `length`.
    public func loadSpikeWindow(length: Int) throws(DatasetError) -> PackedSpikeFrames {
        guard FileManager.default.fileExists(atPath: spikeURL.path) else {
            throw .missingFile(path: spikeURL.path, role: "spike stream")
        }
        do throws(SpikeError) {
            let file = try DatFile(path: spikeURL.path, geometry: spikeGeometry)
            let range = SpikeWindow.range(center: SpikeWindow.centralFrame(frameCount: file.frameCount), length: length)
            guard range.lowerBound >= 0, range.upperBound <= file.frameCount else {
                throw SpikeError.rangeOutOfBounds(
                    what: "\(spikeURL.path) (\(length)-frame central window)", requested: range,
                    available: file.frameCount)
            }
            return try file.read(range)
        } catch {
            throw .spikes(error)
        }
    }
}

/// Directory helpers shared by the layout readers.
enum Layout {
    /// Visible entries of `url`, sorted by name (hidden files such as `.DS_Store` skipped).
    static func entries(_ url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    static func requireDirectory(_ url: URL, role: String) throws(DatasetError) {
        guard isDirectory(url) else { throw .missingDirectory(path: url.path, role: role) }
    }

    static func requireFile(_ url: URL, role: String) throws(DatasetError) {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .missingFile(path: url.path, role: role) }
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The spike geometry for an RGB image: half its size, read from the PNG header.
    static func halfGeometry(ofPNG url: URL) throws(DatasetError) -> SpikeGeometry {
        let (width, height) = try PNGHeader.size(of: url)
        guard width % 2 == 0, height % 2 == 0 else {
            throw .malformed(
                path: url.path,
                problem: "RGB size \(width)x\(height) is not even, so it has no half-resolution spike frame")
        }
        do throws(SpikeError) {
            return try SpikeGeometry(height: height / 2, width: width / 2)
        } catch {
            throw .spikes(error)
        }
    }
}
