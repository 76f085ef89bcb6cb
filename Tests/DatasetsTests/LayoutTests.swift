import Foundation
import SpikeCore
import Testing

@testable import Datasets

/// Builds dataset layouts in a temporary directory. Image files carry only a PNG signature
/// and IHDR chunk: the layout readers never decode pixels.
struct TemporaryLayout {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    func writePNGHeader(_ relative: String, width: Int, height: Int) throws {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        bytes += Array("IHDR".utf8)
        for value in [width, height] {
            bytes += [
                UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
            ]
        }
        bytes += [8, 2, 0, 0, 0]
        try write(relative, Data(bytes))
    }

    func write(_ relative: String, _ data: Data) throws {
        let file = url(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    /// A `.dat` of `frames` frames whose frame i has its first i % 8 + 1 bits set, so windows are distinguishable.
    func writeSpikes(_ relative: String, geometry: SpikeGeometry, frames: Int) throws -> PackedSpikeFrames {
        var bytes = [UInt8](repeating: 0, count: frames * geometry.bytesPerFrame)
        for f in 0..<frames {
            bytes[f * geometry.bytesPerFrame] = UInt8(f % 256)
            bytes[f * geometry.bytesPerFrame + 1] = UInt8(f / 256)
        }
        let packed = try PackedSpikeFrames(geometry: geometry, bytes: bytes)
        let file = url(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let writer = try DatWriter(path: file.path, geometry: geometry)
        try writer.append(packed)
        try writer.close()
        return packed
    }

    /// A Spk-GoPro split with the given sequences and image names, RGB 64x48 (spikes 24x32).
    func makeGoPro(split: String = "train", sequences: [String: [String]], spikeFrames: (String) -> Int) throws {
        let geometry = try SpikeGeometry(height: 24, width: 32)
        for (sequence, names) in sequences {
            for name in names {
                try writePNGHeader("GOPRO_Large/\(split)/\(sequence)/blur_gamma/\(name).png", width: 64, height: 48)
                try writePNGHeader("GOPRO_Large/\(split)/\(sequence)/sharp/\(name).png", width: 64, height: 48)
                _ = try writeSpikes(
                    "GOPRO_Large_spike_seq/\(split)/\(sequence)/spike/\(name).dat", geometry: geometry,
                    frames: spikeFrames(sequence))
            }
        }
    }
}

@Suite struct GoProLayoutTests {
    @Test func listsSamplesSortedWithGeometryAndExposure() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.makeGoPro(
            sequences: ["GOPR0410_11_00": ["000002", "000001"], "GOPR0372_07_00": ["000047"]],
            spikeFrames: { GoProDataset.framesPerExposure(sequence: $0).map { $0 * 8 } ?? 0 })
        try layout.write("GOPRO_Large/train/.DS_Store", Data([1, 2, 3]))
        try layout.write("GOPRO_Large/train/GOPR0372_07_00/blur_gamma/.DS_Store", Data([1]))

        let dataset = try GoProDataset(root: layout.root, split: .train)
        #expect(
            dataset.samples.map(\.name) == ["GOPR0372_07_00/000047", "GOPR0410_11_00/000001", "GOPR0410_11_00/000002"])
        let first = try #require(dataset.samples.first)
        #expect(first.spikeGeometry == (try SpikeGeometry(height: 24, width: 32)))
        #expect(first.framesPerExposure == 7)
        #expect(dataset.samples[1].framesPerExposure == 11)
        #expect(first.sharpURL.path.hasSuffix("GOPRO_Large/train/GOPR0372_07_00/sharp/000047.png"))
        #expect(first.spikeURL.path.hasSuffix("GOPRO_Large_spike_seq/train/GOPR0372_07_00/spike/000047.dat"))

        // Central T=56 window: the whole stream for 7 sharp frames, the middle for 11.
        let w7 = try first.loadSpikeWindow(length: 56)
        #expect(w7 == (try DatFile(path: first.spikeURL.path, geometry: first.spikeGeometry).readAll()))
        let w11 = try dataset.samples[1].loadSpikeWindow(length: 56)
        let all11 = try DatFile(path: dataset.samples[1].spikeURL.path, geometry: first.spikeGeometry).readAll()
        #expect(w11 == (try all11.slice(16..<72)))  // 88 frames: 44 - 28 ..< 44 + 28
    }

    @Test func explicitGeometryOverridesTheImageSize() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.makeGoPro(split: "test", sequences: ["S_07_00": ["a"]], spikeFrames: { _ in 56 })
        let other = try SpikeGeometry(height: 16, width: 48)  // same bytes per frame as 24x32
        let dataset = try GoProDataset(root: layout.root, split: .test, spikeGeometry: other)
        #expect(dataset.samples.first?.spikeGeometry == other)
    }

    @Test func missingPiecesAreNamed() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        #expect(throws: DatasetError.self) { try GoProDataset(root: layout.root, split: .train) }
        do {
            _ = try GoProDataset(root: layout.root, split: .train)
        } catch {
            #expect(error.description.contains(layout.url("GOPRO_Large/train").path))
        }

        try layout.makeGoPro(sequences: ["GOPR0001_07_00": ["000001", "000002"]], spikeFrames: { _ in 56 })
        let sharp = layout.url("GOPRO_Large/train/GOPR0001_07_00/sharp/000002.png")
        try FileManager.default.removeItem(at: sharp)
        do {
            _ = try GoProDataset(root: layout.root, split: .train)
            Issue.record("missing sharp image accepted")
        } catch {
            #expect(error.description == "\(sharp.path): missing sharp image")
        }
        try layout.writePNGHeader("GOPRO_Large/train/GOPR0001_07_00/sharp/000002.png", width: 64, height: 48)
        let spike = layout.url("GOPRO_Large_spike_seq/train/GOPR0001_07_00/spike/000001.dat")
        try FileManager.default.removeItem(at: spike)
        do {
            _ = try GoProDataset(root: layout.root, split: .train)
            Issue.record("missing spike stream accepted")
        } catch {
            #expect(error.description == "\(spike.path): missing spike stream")
        }
        try FileManager.default.removeItem(at: layout.url("GOPRO_Large_spike_seq/train/GOPR0001_07_00"))
        do {
            _ = try GoProDataset(root: layout.root, split: .train)
            Issue.record("missing spike directory accepted")
        } catch {
            #expect(error.description.contains("GOPRO_Large_spike_seq/train/GOPR0001_07_00/spike"))
        }
    }

    @Test func shortOrTruncatedStreamsFailOnLoad() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.makeGoPro(sequences: ["GOPR0001_07_00": ["000001"]], spikeFrames: { _ in 40 })
        let sample = try #require(try GoProDataset(root: layout.root, split: .train).samples.first)
        do {
            _ = try sample.loadSpikeWindow(length: 56)
            Issue.record("short stream accepted")
        } catch {
            #expect(error.description.contains(sample.spikeURL.path))
            #expect(error.description.contains("40"))
        }
        let handle = try FileHandle(forWritingTo: sample.spikeURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0xAB, 0xCD]))
        try handle.close()
        do {
            _ = try sample.loadSpikeWindow(length: 20)
            Issue.record("truncated stream accepted")
        } catch {
            #expect(error.description.contains("40 frames + 2 bytes remainder"))
        }
    }

    @Test func notAPNGIsReported() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        try layout.makeGoPro(sequences: ["GOPR0001_07_00": ["000001"]], spikeFrames: { _ in 56 })
        let blur = layout.url("GOPRO_Large/train/GOPR0001_07_00/blur_gamma/000001.png")
        try Data("not an image".utf8).write(to: blur)
        do {
            _ = try GoProDataset(root: layout.root, split: .train)
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix(blur.path))
            #expect(error.description.contains("not a PNG"))
        }
    }

    @Test func sequenceNamesFollowGoPro() {
        #expect(GoProDataset.framesPerExposure(sequence: "GOPR0372_07_00") == 7)
        #expect(GoProDataset.framesPerExposure(sequence: "GOPR0384_11_05") == 11)
        #expect(GoProDataset.framesPerExposure(sequence: "plain") == nil)
        #expect(GoProDataset.sequenceName(prefix: "SIM", index: 3, framesPerExposure: 7) == "SIM0003_07_00")
    }
}

@Suite struct X4KLayoutTests {
    @Test func listsSamplesAndLoadsWholeWindow() throws {
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        let geometry = try SpikeGeometry(height: 24, width: 32)
        for name in ["0001", "0001_002"] {
            try layout.writePNGHeader("val_blurry_33/002/occ008.320_f2881/\(name).png", width: 64, height: 48)
            try layout.writePNGHeader("val_fullRGB/002/occ008.320_f2881/\(name).png", width: 64, height: 48)
            _ = try layout.writeSpikes(
                "val_spike_2xds_33/002/occ008.320_f2881/\(name).dat", geometry: geometry, frames: 33)
        }
        let dataset = try X4KDataset(root: layout.root, split: "val", spikeLength: 33)
        #expect(dataset.samples.map(\.name) == ["002/occ008.320_f2881/0001", "002/occ008.320_f2881/0001_002"])
        let sample = dataset.samples[0]
        #expect(sample.spikeGeometry == geometry)
        let window = try sample.loadSpikeWindow(length: 33)
        #expect(window.count == 33)
        #expect(window == (try DatFile(path: sample.spikeURL.path, geometry: geometry).readAll()))

        try FileManager.default.removeItem(at: layout.url("val_fullRGB/002/occ008.320_f2881/0001_002.png"))
        #expect(throws: DatasetError.self) { try X4KDataset(root: layout.root, split: "val", spikeLength: 33) }
        #expect(throws: DatasetError.self) { try X4KDataset(root: layout.root, split: "val", spikeLength: 65) }
    }
}
