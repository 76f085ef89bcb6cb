import Foundation
import Testing

@testable import SpikeCore

@Suite struct DatFileTests {
    let geometry: SpikeGeometry

    init() throws {
        geometry = try SpikeGeometry(height: 36, width: 52)
    }

    @Test func readsAnyRangeLikeTheWholeFile() throws {
        let file = try DatFile(path: try Fixtures.url("spikes_a.dat").path, geometry: geometry)
        let all = try file.readAll()
        for range in [0..<1, 3..<17, 39..<40, 0..<40, 20..<20] {
            #expect(try file.read(range) == (try all.slice(range)))
        }
        #expect(throws: SpikeError.self) { _ = try file.read(38..<41) }
        #expect(throws: SpikeError.self) { _ = try file.read(-1..<2) }
    }

    @Test func missingFileNamesThePath() {
        do {
            _ = try DatFile(path: "/nonexistent/dir/spikes.dat", geometry: geometry)
            Issue.record("opened a missing file")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/dir/spikes.dat: cannot open"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func truncatedFileReportsRemainderOrExposesWholeFrames() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = try Data(contentsOf: try Fixtures.url("spikes_a.dat"))
        let path = dir.appendingPathComponent("spikes.dat").path
        try (raw + Data([0xFF])).write(to: URL(fileURLWithPath: path))  // 9361 bytes
        do {
            _ = try DatFile(path: path, geometry: geometry)
            Issue.record("accepted a truncated file")
        } catch {
            #expect(error.description.hasPrefix("\(path): size 9361 bytes is not a whole number of 234-byte frames"))
            #expect(error.description.contains("(40 frames + 1 bytes remainder)"))
        }
        let lenient = try DatFile(path: path, geometry: geometry, strict: false)
        #expect(lenient.frameCount == 40)
        #expect(lenient.trailingBytes == 1)
        #expect(try lenient.readAll().bytes == [UInt8](raw))

        // A file cut mid-frame.
        try raw.prefix(234 * 3 + 100).write(to: URL(fileURLWithPath: path))
        do {
            _ = try DatFile(path: path, geometry: geometry)
            Issue.record("accepted a truncated file")
        } catch {
            #expect(error.description.contains("3 frames + 100 bytes remainder"))
        }
    }

    @Test func emptyFileHasNoFrames() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("empty.dat").path
        try Data().write(to: URL(fileURLWithPath: path))
        let file = try DatFile(path: path, geometry: geometry)
        #expect(file.frameCount == 0)
        #expect(try file.readAll().isEmpty)
    }

    @Test func writerStreamsByteExactFrames() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try DatFile(path: try Fixtures.url("spikes_a.dat").path, geometry: geometry)
        let path = dir.appendingPathComponent("out.dat").path
        let writer = try DatWriter(path: path, geometry: geometry)
        for start in stride(from: 0, to: 40, by: 7) {
            try writer.append(try source.read(start..<min(start + 7, 40)))
        }
        #expect(writer.framesWritten == 40)
        try writer.close()
        #expect(throws: SpikeError.self) { try writer.append(try source.read(0..<1)) }
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(written == (try Data(contentsOf: try Fixtures.url("spikes_a.dat"))))

        // Appending mode adds to the end; mismatched geometry is refused.
        let appender = try DatWriter(path: path, geometry: geometry, append: true)
        try appender.append(try source.read(0..<2).unpacked().packed())
        let other = try SpikeGeometry(height: 8, width: 8)
        #expect(throws: SpikeError.self) {
            try appender.append(PackedSpikeFrames(geometry: other, bytes: [UInt8](repeating: 0, count: 8)))
        }
        try appender.close()
        #expect(try DatFile(path: path, geometry: geometry).frameCount == 42)
    }
}

@Suite struct DatFileSpecialFileTests {
    @Test func aFIFOIsRefusedWithoutWaiting() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString).dat").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        do {
            _ = try DatFile(path: path, geometry: try SpikeGeometry(height: 8, width: 8))
            Issue.record("opened a FIFO")
        } catch {
            #expect(error.description.contains("not a regular file"), "\(error)")
        }
    }
}

@Suite struct DatFileTruncationTests {
    @Test func aFileTruncatedWhileOpenIsAnErrorNotACrash() throws {
        let geometry = try SpikeGeometry(height: 8, width: 16)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trunc-\(UUID().uuidString).dat").path
        defer { unlink(path) }
        let writer = try DatWriter(path: path, geometry: geometry)
        var rng = SplitMix64(seed: 1)
        let frames = (0..<40 * geometry.bytesPerFrame).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try writer.append(PackedSpikeFrames(uncheckedGeometry: geometry, bytes: frames))
        try writer.close()
        let file = try DatFile(path: path, geometry: geometry)
        #expect(file.frameCount == 40)
        let before = try file.read(30..<40)
        // Another process cuts the file to 25 frames while it is open.
        #expect(truncate(path, off_t(25 * geometry.bytesPerFrame)) == 0)
        #expect(try file.read(0..<25).count == 25)
        do {
            _ = try file.read(30..<40)
            Issue.record("read frames that are gone")
        } catch {
            #expect(error.description.contains(path), "\(error)")
        }
        #expect(before.count == 10)
    }
}
