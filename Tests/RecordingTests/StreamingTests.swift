import Foundation
import Glibc
import Recording
import TestSupport
import Testing

@Suite struct StreamingTests {
    /// An h5py SWMR reader sees every frame appear while the writer is still open: the writer
    /// appends frame k only after the reader has reported seeing k frames.
    @Test(.enabled(if: hasH5py, "python3 with h5py and numpy is needed"))
    func swmrReaderSeesFramesWhileWriting() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("swmr.h5")
        let (h, w, n) = (8, 10, 5)
        let writer = try SequenceWriter(
            url: URL(fileURLWithPath: path),
            options: .init(height: h, width: w, swmr: true, flushEvery: 1))
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        reader.arguments = [
            "python3", "-c",
            Frames.pythonHelpers + """
                import sys, time, h5py
                path, n, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
                f = h5py.File(path, 'r', libver='latest', swmr=True)
                s, fid = f['sharp'], f['frame_id']
                seen, deadline = 0, time.time() + 30
                while seen < n and time.time() < deadline:
                    s.refresh(); fid.refresh()
                    k = s.shape[0]
                    if k > seen:
                        for i in range(seen, k):
                            assert (s[i] == expected_sharp(i, h, w)).all(), i
                            assert fid[i] == 100 + i, (i, fid[i])
                        seen = k
                        print(seen, flush=True)
                    else:
                        time.sleep(0.002)
                """, path, "\(n)", "\(h)", "\(w)",
        ]
        let out = Pipe()
        let err = Pipe()
        reader.standardOutput = out
        reader.standardError = err
        try reader.run()
        var lines: [String] = []
        var buffer = Data()
        for f in 0..<n {
            try writer.append(Frames.frame(f, height: h, width: w, float: false))
            // Wait for the reader's next line (it ends the wait by exiting on failure too).
            while !buffer.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { break }
            lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
            buffer.removeSubrange(...newline)
        }
        let summary = try writer.finish()
        reader.waitUntilExit()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(reader.terminationStatus == 0, "reader: \(errors)")
        #expect(lines == (1...n).map(String.init))
        #expect(summary.frames == n)
    }

    /// A write error mid-stream (the file-size limit of the process, like a full disk) is
    /// thrown with a clear message, and the closed file holds every frame written before it.
    @Test(.enabled(if: hasH5py, "python3 with h5py and numpy is needed"))
    func writeErrorLeavesAValidFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("full.h5")
        let (h, w) = (128, 256)  // 96 KiB per frame, uncompressed
        let writer = try SequenceWriter(
            url: URL(fileURLWithPath: path), options: .init(height: h, width: w, compression: .none))
        // Writes past the limit fail with EFBIG instead of raising SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        var saved = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        var limited = saved
        limited.rlim_cur = 2 << 20
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limited)
        var appendError: RecordingError?
        var appended = 0
        for f in 0..<60 {
            do {
                try writer.append(Frames.frame(f, height: h, width: w, float: false))
                appended += 1
            } catch let error as RecordingError {
                appendError = error
                break
            }
        }
        var finishError: RecordingError?
        do {
            // The limit stays while the in-flight frames are written, then is lifted for close.
            try writer.waitUntilWritten()
        } catch let error as RecordingError {
            finishError = error
        }
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        do { try writer.finish() } catch let error as RecordingError { finishError = finishError ?? error }
        let error = try #require(appendError ?? finishError)
        #expect(error.description.contains(path))
        #expect(error.stage.hasPrefix("write frame"))
        #expect(error.message.contains("write"))
        let written = error.framesWritten
        #expect(written > 5 && written < 30, "frames written: \(written)")
        let out = try Python.run(
            Frames.pythonHelpers + """
                import sys, h5py
                f = h5py.File(sys.argv[1], 'r')
                s = f['sharp']
                n = f['frame_id'].shape[0]
                # The row of the chunk whose write failed may remain, unfilled (docs/hdf5.md).
                assert s.shape[0] in (n, n + 1), (s.shape, n)
                for i in range(n):
                    assert (s[i] == expected_sharp(i, 128, 256)).all(), i
                check_per_frame(f, n)
                assert f['frame_id'].shape == (n,)
                print(n)
                """, [path])
        #expect(out == "\(written)")
    }
}
