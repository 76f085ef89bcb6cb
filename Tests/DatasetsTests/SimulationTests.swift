import Foundation
import Imaging
import SpikeCore
import Testing

@testable import Datasets

@Suite struct SimulationTests {
    /// Writes the image as a PNG signature + IHDR followed by raw floats: enough for the
    /// layout reader (which reads only the header) and for checking what was written.
    static func writeHeaderAndFloats(_ image: Image, _ url: URL) throws {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        for value in [image.width, image.height] {
            bytes += [
                UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
            ]
        }
        bytes += [8, 2, 0, 0, 0]
        image.pixels.withUnsafeBytes { bytes += $0 }
        try Data(bytes).write(to: url)
    }

    @Test func simulatedDatasetReadsBackAsSpkGoPro() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        let source = Image(
            width: 40, height: 36, channels: 3, pixels: testPattern(width: 40, height: 36))
        let simulation = SpkGoProSimulation(
            split: .test, sequences: 2, framesPerSequence: 3, seed: 7,
            configuration: .init(width: 32, height: 32, sharpFramesPerExposure: 7))
        let summary = try simulation.run(
            images: [URL(fileURLWithPath: "/virtual/a.png")], root: layout.root,
            read: { _ in source }, write: Self.writeHeaderAndFloats)
        #expect(summary.sequences == ["SIM0000_07_00", "SIM0001_07_00"])
        #expect(summary.samples == 6)
        #expect(summary.spikeFrames == 6 * 56)

        let dataset = try GoProDataset(root: layout.root, split: .test)
        #expect(dataset.samples.count == 6)
        let sample = dataset.samples[4]
        #expect(sample.name == "SIM0001_07_00/000001")
        #expect(sample.framesPerExposure == 7)
        #expect(sample.spikeGeometry == (try SpikeGeometry(height: 16, width: 16)))
        let window = try sample.loadSpikeWindow(length: GoProDataset.modelSpikeFrames)
        #expect(window.count == 56)
        #expect(window.spikeCount > 0)

        // Same seed, same dataset: the second sequence's second exposure re-rendered alone.
        var synth = try MotionBlurSynthesizer(
            image: source.pixels, width: 40, height: 36, channels: 3, exposures: 3,
            configuration: simulation.configuration, seed: 8)
        _ = synth.nextExposure()
        #expect(synth.nextExposure().spikes == window)
    }

    @Test func unreadableImageIsNamed() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        struct Unreadable: Error {}
        let url = URL(fileURLWithPath: "/virtual/broken.png")
        do {
            _ = try SpkGoProSimulation(sequences: 1).run(
                images: [url], root: layout.root, read: { _ in throw Unreadable() }, write: { _, _ in })
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("/virtual/broken.png"))
        }
        #expect(throws: DatasetError.self) {
            try SpkGoProSimulation(sequences: 1).run(
                images: [], root: layout.root, read: { _ in throw Unreadable() }, write: { _, _ in })
        }
    }
}

@Suite struct SourceImageListingTests {
    @Test func listsImagesSortedAndRejectsEmptyOrMissing() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.writePNGHeader("src/b.png", width: 8, height: 8)
        try layout.writePNGHeader("src/a.JPG", width: 8, height: 8)
        try layout.write("src/notes.txt", Data("x".utf8))
        try layout.write("src/.hidden.png", Data("x".utf8))
        let files = try DatasetImages.imageFiles(in: layout.url("src"))
        #expect(files.map(\.lastPathComponent) == ["a.JPG", "b.png"])
        try layout.write("empty/readme.txt", Data("x".utf8))
        do {
            _ = try DatasetImages.imageFiles(in: layout.url("empty"))
            Issue.record("accepted")
        } catch {
            #expect(error.description == "\(layout.url("empty").path): no PNG or JPEG images found")
        }
        #expect(throws: DatasetError.self) { try DatasetImages.imageFiles(in: layout.url("nowhere")) }
    }
}
