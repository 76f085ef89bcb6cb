import Foundation
import HDF5
import Testing

@testable import Recording

/// Without SWMR the file appears under its name only when it is complete; SWMR files appear
/// once their layout exists, for live readers.
@Suite struct AtomicWriteTests {
    private func frame(_ i: Int, pixels: Int) -> RecordedFrame {
        RecordedFrame(
            sharp: .float([Float](repeating: Float(i) / 10, count: pixels * 3)), spikeRecon: nil, quickSharp: nil,
            blur: nil, exposureStartNanoseconds: Int64(i), exposureEndNanoseconds: Int64(i + 1),
            spikeCenterIndex: Int64(i), frameID: Int64(i), latency: .zero)
    }

    @Test(arguments: [false, true])
    func theTargetIsReplacedOnlyByACompleteFile(swmr: Bool) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spk-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out.h5")
        try Data("previous results".utf8).write(to: target)
        let writer = try SequenceWriter(url: target, options: .init(height: 4, width: 4, swmr: swmr))
        try writer.append(frame(0, pixels: 16))
        try writer.waitUntilWritten()
        let during = try Data(contentsOf: target)
        // Without SWMR the old file is untouched while writing; with SWMR it is the live file.
        #expect((during == Data("previous results".utf8)) == !swmr)
        try writer.append(frame(1, pixels: 16))
        let summary = try writer.finish()
        #expect(summary.frames == 2)
        let f = try File.open(path: target.path)
        defer { try? f.close() }
        #expect(try f.root.openDataset("frame_id").readInt64() == [0, 1])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)
    }

    /// The replaced file is freed off the caller's thread: the new file is in place at once,
    /// nothing else is left in the folder, and the old file's space comes back.
    @Test func replacingAFileLeavesOnlyTheNewOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spk-replace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out.h5"), source = dir.appendingPathComponent(".out.h5.partial")
        try Data(repeating: 7, count: 1 << 20).write(to: target)
        try Data("new".utf8).write(to: source)
        #expect(replace(target.path, with: source.path) == 0)
        #expect(try Data(contentsOf: target) == Data("new".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.h5"])
        // A missing source fails as rename does, and leaves the target alone.
        #expect(replace(target.path, with: source.path) == -1)
        #expect(try Data(contentsOf: target) == Data("new".utf8))
        // Into a name that does not exist yet.
        let fresh = dir.appendingPathComponent("fresh.h5")
        try Data("x".utf8).write(to: source)
        #expect(replace(fresh.path, with: source.path) == 0)
        #expect(try Data(contentsOf: fresh) == Data("x".utf8))
    }

    @Test func creationTimesAreRFC3339InUTC() throws {
        let stamp = utcTimestamp()
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(parser.date(from: stamp), "\(stamp)")
        #expect(abs(parsed.timeIntervalSinceNow) < 5, "\(stamp)")
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"), "\(stamp)")
    }
}
