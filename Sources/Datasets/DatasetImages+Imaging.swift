import Foundation
import ImageCodecs
import Imaging
import SpikeCore

/// A sample loaded for the model: images in [0, 1] and the central spike window.
public struct LoadedSample: Sendable {
    /// The sample loaded.
    public let sample: DatasetSample
    /// Blurry RGB frame.
    public let blur: Image
    /// Sharp ground truth.
    public let sharp: Image
    /// The central T spike frames, packed.
    public let spikes: PackedSpikeFrames
}

extension DatasetSample {
    /// Loads the blurry and sharp images and the central `spikeLength` spike frames.
    /// - Throws: `DatasetError.missingFile` naming a missing piece, `.image` for an unreadable
    ///   image or one whose size is not twice the spike geometry, `.spikes` for a bad stream.
    public func load(spikeLength: Int) throws(DatasetError) -> LoadedSample {
        let blur = try DatasetImages.readImage(blurURL, role: "blurry image")
        let sharp = try DatasetImages.readImage(sharpURL, role: "sharp image")
        for (image, url) in [(blur, blurURL), (sharp, sharpURL)] {
            guard image.width == 2 * spikeGeometry.width, image.height == 2 * spikeGeometry.height else {
                throw .image(
                    path: url.path,
                    reason: "size \(image.width)x\(image.height) is not twice the spike frame"
                        + " \(spikeGeometry.width)x\(spikeGeometry.height)")
            }
        }
        return LoadedSample(sample: self, blur: blur, sharp: sharp, spikes: try loadSpikeWindow(length: spikeLength))
    }
}

extension DatasetImages {
    /// Reads an image file.
    /// - Throws: `DatasetError.missingFile` or `.image` naming the file.
    public static func readImage(_ url: URL, role: String = "image") throws(DatasetError) -> Image {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .missingFile(path: url.path, role: role) }
        do {
            return try ImageFile.read(url)
        } catch {
            throw .image(path: url.path, reason: "\(error)")
        }
    }

    /// Reads an image file for `SpkGoProSimulation`.
    public static func readSource(_ url: URL) throws -> Image { try readImage(url) }

    /// Writes an image as PNG.
    public static func writePNG(_ image: Image, _ url: URL) throws {
        try ImageFile.writePNG(image, to: url)
    }
}
