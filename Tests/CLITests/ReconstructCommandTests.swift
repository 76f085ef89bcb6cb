import Foundation
import TestSupport
import Testing

@Suite struct ReconstructCommandTests {
    let dat = testsFixture("SpikeCoreTests/Fixtures/spikes_a.dat")
    let expect = testsFixture("SpikeCoreTests/Fixtures/spikes_a.expect.safetensors")

    @Test(.enabled(if: pythonHas("h5py", "numpy"), "needs h5py and numpy"))
    func tfiMatchesTheReferenceThroughH5py() throws {
        let dir = try temporaryDirectory("cli-recon")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.h5").path
        let result = try run([
            "reconstruct", dat.path, "--height", "36", "--width", "52", "--centers", "1,20,38",
            "--window", "50", "--out", out,
        ])
        #expect(result.status == 0, "\(result.err)")
        // h5py reads the file; the values equal the reference middleTFI at those centres.
        let check = try python(
            """
            import sys, json, struct, h5py, numpy as np
            f = h5py.File(sys.argv[1]); r = f['recon'][:]
            b = open(sys.argv[2], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
            def t(k):
                s, e = h[k]['data_offsets']; return np.frombuffer(b[8+n+s:8+n+e], dtype=np.float32).reshape(h[k]['shape'])
            assert r.shape == (3, 36, 52) and r.dtype == np.float32, (r.shape, r.dtype)
            assert np.array_equal(r[0], t('tfi_m1_w50')) and np.array_equal(r[1], t('tfi_m20_w50'))
            assert list(f.attrs['centers']) == [1, 20, 38]
            print('ok')
            """, [out, expect.path])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("ok"))
    }

    @Test(.enabled(if: pythonHas("h5py", "numpy"), "needs h5py and numpy"))
    func rawFramesAreTheDecodedStream() throws {
        let dir = try temporaryDirectory("cli-recon")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("raw.h5").path
        let result = try run([
            "reconstruct", dat.path, "--height", "36", "--width", "52", "--method", "raw", "--out", out,
        ])
        #expect(result.status == 0, "\(result.err)")
        let check = try python(
            """
            import sys, json, struct, h5py, numpy as np
            s = h5py.File(sys.argv[1])['spikes'][:]
            b = open(sys.argv[2], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
            o0, o1 = h['spikes']['data_offsets']; ref = np.frombuffer(b[8+n+o0:8+n+o1], dtype=np.float32).reshape(40, 36, 52)
            assert s.dtype == np.uint8 and s.shape == (40, 36, 52)
            assert np.array_equal(s.astype(np.float32), ref)
            print('ok')
            """, [out, expect.path])
        #expect(check.status == 0, "\(check.err)")
    }

    @Test func badGeometryIsOneClearLine() throws {
        let result = try run([
            "reconstruct", dat.path, "--height", "36", "--width", "53", "--centers", "3", "--out", "/tmp/never.h5",
        ])
        #expect(result.status != 0)
        #expect(result.err.contains("36x53: height*width must be a multiple of 8"))
        #expect(result.err.split(separator: "\n").count == 1)
    }

    @Test func truncatedRecordingNamesFileAndRemainder() throws {
        let dir = try temporaryDirectory("cli-recon")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.dat")
        try Data(contentsOf: dat).dropLast(5).write(to: cut)
        let result = try run([
            "reconstruct", cut.path, "--height", "36", "--width", "52", "--centers", "3", "--out",
            dir.appendingPathComponent("x.h5").path,
        ])
        #expect(result.status != 0)
        #expect(result.err.contains(cut.path))
        #expect(result.err.contains("remainder"))
    }
}

/// `reconstruct` never destroys data: not its input, not an existing output, and no partial file.
@Suite struct ReconstructSafetyTests {
    let dat = testsFixture("SpikeCoreTests/Fixtures/spikes_a.dat")

    @Test func theInputAsOutputIsRefusedAndKept() throws {
        let dir = try temporaryDirectory("cli-recon-safe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("in.dat")
        try FileManager.default.copyItem(at: dat, to: copy)
        let before = try Data(contentsOf: copy)
        let result = try run([
            "reconstruct", copy.path, "--height", "36", "--width", "52", "--method", "raw", "--out",
            dir.appendingPathComponent("./in.dat").path,
        ])
        #expect(result.status == 1)
        #expect(result.err.contains("is the input file"), "\(result.err)")
        #expect(try Data(contentsOf: copy) == before)
    }

    @Test func aFailedRunLeavesTheExistingOutputAndNoPartialFile() throws {
        let dir = try temporaryDirectory("cli-recon-safe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.h5")
        let good = try run([
            "reconstruct", dat.path, "--height", "36", "--width", "52", "--centers", "1,20", "--out", out.path,
        ])
        #expect(good.status == 0, "\(good.err)")
        let before = try Data(contentsOf: out)
        // The second centre is outside the recording: the run fails after starting the file.
        let bad = try run([
            "reconstruct", dat.path, "--height", "36", "--width", "52", "--centers", "1,99999", "--out", out.path,
        ])
        #expect(bad.status != 0)
        #expect(bad.err.contains("99999"), "\(bad.err)")
        #expect(try Data(contentsOf: out) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["r.h5"])
    }

    /// On a real full disk the command fails with one line naming the output and the
    /// system's reason; the file that was there is untouched and no temporary file remains.
    @Test(.enabled(if: SmallDisk.available, "mounting a tmpfs needs root"))
    func aFullDiskLeavesTheOldOutputUntouched() throws {
        let dir = try temporaryDirectory("cli-recon-full")
        defer { try? FileManager.default.removeItem(at: dir) }
        var generator = SystemRandomNumberGenerator()
        let frames = 3000, bytesPerFrame = 96 * 128 / 8  // random spikes do not compress
        let input = dir.appendingPathComponent("big.dat")
        try Data((0..<frames * bytesPerFrame).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: input)
        let disk = try SmallDisk(bytes: 512 << 10)
        defer { disk.cleanup() }
        let out = disk.path("r.h5")
        try Data("previous results".utf8).write(to: URL(fileURLWithPath: out))
        let result = try run([
            "reconstruct", input.path, "--height", "96", "--width", "128", "--method", "raw", "--out", out,
        ])
        #expect(result.status == 1, "\(result.err)")
        let message = result.err.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!message.contains("\n"), "\(message)")
        #expect(message.contains(out) && message.contains("No space left on device"), "\(message)")
        #expect(!message.contains("partial"), "\(message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data("previous results".utf8))
        #expect(disk.names() == ["r.h5"])
    }
}
