import Foundation
import ImageCodecs
import Imaging
import SpikeCore
import Testing

@testable import Datasets

@Suite struct ImageLoadingTests {
    @Test func simulatedPNGDatasetLoadsSamples() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        let source = Image(width: 48, height: 40, channels: 3, pixels: testPattern(width: 48, height: 40))
        try FileManager.default.createDirectory(at: layout.url("src"), withIntermediateDirectories: true)
        try ImageFile.writePNG(source, to: layout.url("src/a.png"))

        let simulation = SpkGoProSimulation(
            split: .train, sequences: 1, framesPerSequence: 2, seed: 11,
            configuration: .init(width: 32, height: 32, sharpFramesPerExposure: 7))
        let summary = try simulation.run(
            images: try DatasetImages.imageFiles(in: layout.url("src")), root: layout.root,
            read: DatasetImages.readSource, write: DatasetImages.writePNG)
        #expect(summary.samples == 2)

        let dataset = try GoProDataset(root: layout.root, split: .train)
        let loaded = try dataset.samples[1].load(spikeLength: 56)
        #expect(loaded.blur.width == 32 && loaded.blur.height == 32 && loaded.blur.channels == 3)
        #expect(loaded.sharp.width == 32 && loaded.sharp.height == 32)
        #expect(loaded.spikes.count == 56)

        // The PNGs hold the synthesised frames to 8-bit precision (rendered from the source
        // as the PNG stores it).
        let stored = try ImageFile.read(layout.url("src/a.png"))
        var synth = try MotionBlurSynthesizer(
            image: stored.pixels, width: 48, height: 40, channels: 3, exposures: 2,
            configuration: simulation.configuration, seed: 11)
        _ = synth.nextExposure()
        let exposure = synth.nextExposure()
        let blurError = zip(loaded.blur.pixels, exposure.blur).map { abs($0 - $1) }.max() ?? 1
        let sharpError = zip(loaded.sharp.pixels, exposure.sharp).map { abs($0 - $1) }.max() ?? 1
        #expect(blurError <= 0.5 / 255 + 1e-6)
        #expect(sharpError <= 0.5 / 255 + 1e-6)
        let sameSpikes = loaded.spikes == exposure.spikes
        #expect(sameSpikes)
    }

    @Test func missingOrMismatchedImagesAreNamed() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.makeGoPro(sequences: ["GOPR0001_07_00": ["000001"]], spikeFrames: { _ in 56 })
        let sample = try #require(try GoProDataset(root: layout.root, split: .train).samples.first)
        // The layout files are header-only PNGs: decoding them must fail and name the file.
        do {
            _ = try sample.load(spikeLength: 56)
            Issue.record("header-only PNG decoded")
        } catch {
            #expect(error.description.hasPrefix(sample.blurURL.path))
        }
        // A real PNG of the wrong size.
        try ImageFile.writePNG(Image(width: 10, height: 10, channels: 3), to: sample.blurURL)
        try ImageFile.writePNG(Image(width: 64, height: 48, channels: 3), to: sample.sharpURL)
        do {
            _ = try sample.load(spikeLength: 56)
            Issue.record("mismatched size accepted")
        } catch {
            #expect(error.description.hasPrefix(sample.blurURL.path))
            #expect(error.description.contains("10x10"))
        }
        try FileManager.default.removeItem(at: sample.sharpURL)
        try ImageFile.writePNG(Image(width: 64, height: 48, channels: 3), to: sample.blurURL)
        do {
            _ = try sample.load(spikeLength: 56)
            Issue.record("missing sharp image accepted")
        } catch {
            #expect(error.description == "\(sample.sharpURL.path): missing sharp image")
        }
    }
}
