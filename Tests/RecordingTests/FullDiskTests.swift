import Foundation
import Recording
import TestSupport
import Testing

/// A real full disk (a tiny tmpfs): the write fails with the system's reason, and the file
/// left under the target's name is valid with every frame written before the failure; no
/// temporary or reserve file remains.
@Suite struct FullDiskTests {
    @Test(
        .enabled(if: SmallDisk.available, "mounting a tmpfs needs root"),
        .enabled(if: hasH5py, "python3 with h5py and numpy is needed"),
        arguments: [false, true])
    func aFullDiskKeepsEveryFrameWrittenBeforeIt(swmr: Bool) throws {
        let disk = try SmallDisk(bytes: 900 << 10)
        defer { disk.cleanup() }
        let path = disk.path("full.h5")
        try Data("previous results".utf8).write(to: URL(fileURLWithPath: path))
        let (h, w) = (128, 256)  // 96 KiB per frame, uncompressed
        let writer = try SequenceWriter(
            url: URL(fileURLWithPath: path), options: .init(height: h, width: w, compression: .none, swmr: swmr))
        var failure: RecordingError?
        for f in 0..<40 {
            do {
                try writer.append(Frames.frame(f, height: h, width: w, float: false))
            } catch let error as RecordingError {
                failure = error
                break
            }
        }
        do { try writer.finish() } catch let error as RecordingError { failure = failure ?? error }
        let error = try #require(failure, "40 frames of 96 KiB fit on a 900 KiB disk")
        #expect(error.description.contains("No space left on device"), "\(error)")
        #expect(error.description.contains(path) && !error.description.contains("partial"), "\(error)")
        #expect(!error.description.contains("\n"))
        let written = error.framesWritten
        #expect(written >= 3 && written < 10, "frames written: \(written)")
        #expect(disk.names() == ["full.h5"])
        let out = try Python.run(
            Frames.pythonHelpers + """
                import sys, h5py
                f = h5py.File(sys.argv[1], 'r')
                n = f['frame_id'].shape[0]
                s = f['sharp']
                assert s.shape[0] in (n, n + 1), (s.shape, n)
                for i in range(n):
                    assert (s[i] == expected_sharp(i, 128, 256)).all(), i
                check_per_frame(f, n)
                print(n)
                """, [path])
        #expect(out == "\(written)")
    }
}
