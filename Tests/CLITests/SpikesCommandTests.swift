import Foundation
import Testing

@Suite struct SpikesCommandTests {
    @Test func fileSystemErrorsAreOneLineNamingThePath() throws {
        // Output folders that cannot be created: Foundation's error, reduced to one line.
        let r = try run([
            "simulate", "--images", testsFixture("../pipelines/assets/scenes").path, "--out", "/proc/none/x",
            "--split", "test", "--sequences", "1", "--frames-per-sequence", "2", "--width", "64", "--height", "48",
        ])
        #expect(r.status != 0)
        #expect(r.err.contains("/proc/none/x"), "\(r.err)")
        #expect(!r.err.contains("NSCocoaErrorDomain") && !r.err.contains("UserInfo"), "\(r.err)")
        #expect(r.err.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(r.err)")
    }

    @Test func hdf5FailuresAreOneLineUnlessVerbose() throws {
        let dir = try temporaryDirectory("cli-verbose")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("x.h5")
        try Data("not an HDF5 file".utf8).write(to: file)
        let plain = try run(["inspect", file.path])
        #expect(plain.status != 0)
        #expect(plain.err.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)
        #expect(plain.err.contains("file signature not found"))
        let process = Process()
        process.executableURL = try spkdeblurBinary()
        process.arguments = ["inspect", file.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["SPKDEBLUR_VERBOSE": "1"]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let verbose = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(verbose.contains("H5Fopen"), "\(verbose)")
        #expect(verbose.split(separator: "\n").count > 2)
    }

    @Test(arguments: ["-36", "0", "4294967296", "-9223372036854775808"])
    func aNegativeOrHugeSideIsNamedNotMistakenForAnOption(height: String) throws {
        let r = try run(["spikes", "info", "/dev/null", "--height", height, "--width", "400"])
        #expect(r.status != 0)
        #expect(r.err.contains("height and width must be 1...65536") || r.err.contains("not a valid"), "\(r.err)")
        #expect(!r.err.contains("Missing value"))
    }

    @Test func infoReportsFramesDurationAndRate() throws {
        let fixture = testsFixture("SpikeCoreTests/Fixtures/spikes_a.dat")
        let bytes = [UInt8](try Data(contentsOf: fixture))
        let spikes = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
        let result = try run(["spikes", "info", fixture.path, "--height", "36", "--width", "52", "--rate", "40000"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("frames: 40"))
        #expect(result.out.contains("duration: 1.000 ms at 40000 Hz"))
        #expect(result.out.contains("spikes: \(spikes)"))
        let rate = Double(spikes) / Double(40 * 36 * 52)
        #expect(result.out.contains(String(format: "mean firing rate: %.5f", rate)))
    }

    @Test func infoNamesFileAndRemainderOfATruncatedStream() throws {
        let dir = try temporaryDirectory("spikes-info")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("cut.dat")
        try Data(repeating: 0xFF, count: 234 * 3 + 5).write(to: file)
        let strict = try run(["spikes", "info", file.path, "--height", "36", "--width", "52"])
        #expect(strict.status != 0)
        #expect(strict.err.contains("\(file.path): size 707 bytes"))
        #expect(strict.err.contains("3 frames + 5 bytes remainder"))
        let lenient = try run(["spikes", "info", file.path, "--height", "36", "--width", "52", "--lenient"])
        #expect(lenient.status == 0)
        #expect(lenient.out.contains("frames: 3"))
        #expect(lenient.out.contains("trailing bytes not read: 5"))
        let badGeometry = try run(["spikes", "info", file.path, "--height", "3", "--width", "5"])
        #expect(badGeometry.status != 0)
        #expect(badGeometry.err.contains("3x5"))
    }

    @Test(.enabled(if: pythonHas("numpy", "skimage"), "needs python3 with numpy and scikit-image"))
    func simulateWritesASpkGoProLayoutThatNumPyReads() throws {
        let dir = try temporaryDirectory("simulate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let made = try python(
            "import sys, numpy as np\nfrom skimage import io\n"
                + "y, x = np.mgrid[0:60, 0:70]\n"
                + "img = np.stack([x * 3, y * 4, (x + y) * 2], -1).astype(np.uint8)\n"
                + "io.imsave(sys.argv[1], img, check_contrast=False)\n",
            [source.appendingPathComponent("a.png").path])
        #expect(made.status == 0, "\(made.err)")
        let out = dir.appendingPathComponent("out")
        let result = try run([
            "simulate", "--images", source.path, "--out", out.path, "--split", "test", "--frames-per-sequence", "2",
            "--width", "48", "--height", "32", "--seed", "5",
        ])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("1 sequences, 2 samples"))
        // Decode independently: 8 spike frames per sharp frame, 7 sharp frames, half resolution.
        let check = try python(
            "import sys, numpy as np\nfrom skimage import io\nroot = sys.argv[1]\n"
                + "blur = io.imread(root + '/GOPRO_Large/test/SIM0000_07_00/blur_gamma/000001.png')\n"
                + "sharp = io.imread(root + '/GOPRO_Large/test/SIM0000_07_00/sharp/000001.png')\n"
                + "raw = np.fromfile(root + '/GOPRO_Large_spike_seq/test/SIM0000_07_00/spike/000001.dat', np.uint8)\n"
                + "spikes = np.unpackbits(raw, bitorder='little').reshape(-1, 16, 24)\n"
                + "print(blur.shape, sharp.shape, spikes.shape[0], int(spikes.sum() > 0))\n",
            [out.path])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("(32, 48, 3) (32, 48, 3) 56 1"))
    }

    @Test func simulateRejectsBadOptions() throws {
        let result = try run(["simulate", "--images", "/nonexistent", "--out", "/tmp/x", "--sharp-frames", "8"])
        #expect(result.status != 0)
        #expect(result.err.contains("--sharp-frames must be odd"))
        let missing = try run(["simulate", "--images", "/nonexistent/images", "--out", "/tmp/x"])
        #expect(missing.status != 0)
        #expect(missing.err.contains("/nonexistent/images: missing source image directory"))
    }

    @Test func benchSpikesPrintsThroughputAndTFI() throws {
        let result = try run([
            "bench", "spikes", "--height", "16", "--width", "24", "--frames", "120", "--repeats", "2",
            "--numpy-script", "",
        ])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("x real time at 20000 Hz"))
        #expect(result.out.contains("swift TFI (56 frames)"))
    }
}
