import Foundation
import Recording
import TestSupport
import Testing

let hasH5py = Python.has("h5py", "numpy")
let hasHDF5Plugin = Python.has("h5py", "numpy", "hdf5plugin")

@Suite struct SequenceWriterTests {
    static let metadata = RecordingMetadata(
        softwareVersion: "0.1.0", modelName: "SpkDeblurNet", weightsSHA256: String(repeating: "ab", count: 32),
        modelConfigJSON: #"{"channels": 16}"#, pipelineText: "stages:\n  - source\n", sensorHeight: 250,
        sensorWidth: 400, spikeRateHz: 20_000, extra: ["note": "test run"])

    struct Case: Sendable, CustomTestStringConvertible {
        var compression: Compression
        var pixelType: PixelType
        var floatInput: Bool
        var testDescription: String { "\(compression) \(pixelType) float input: \(floatInput)" }
    }

    @Test(
        .enabled(if: hasH5py, "python3 with h5py and numpy is needed"),
        arguments: [
            Case(compression: .none, pixelType: .uint8, floatInput: false),
            Case(compression: .deflate(level: 1), pixelType: .uint8, floatInput: true),
            Case(compression: .deflate(level: 6), pixelType: .float32, floatInput: true),
            Case(compression: .bitshuffleLZ4, pixelType: .uint8, floatInput: false),
            Case(compression: .bitshuffleLZ4, pixelType: .float16, floatInput: true),
        ])
    func h5pyReadsWhatWasAppended(_ c: Case) throws {
        if c.compression == .bitshuffleLZ4 && !hasHDF5Plugin { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("seq.h5")
        let (h, w, n) = (13, 21, 7)  // odd sizes: bitshuffle's trailing elements are exercised
        let writer = try SequenceWriter(
            url: URL(fileURLWithPath: path),
            options: .init(
                height: h, width: w, optionalDatasets: [.spikeRecon, .quickSharp, .blur], pixelType: c.pixelType,
                compression: c.compression, metadata: Self.metadata, maxFramesInFlight: 3))
        for f in 0..<n { try writer.append(Frames.frame(f, height: h, width: w, float: c.floatInput, extras: true)) }
        let summary = try writer.finish()
        #expect(summary.frames == n)
        #expect(
            summary.rawBytes[.sharp] == n * h * w * 3 * (c.pixelType == .uint8 ? 1 : c.pixelType == .float16 ? 2 : 4))
        let filterID =
            switch c.compression {
            case .none: "none"
            case .deflate: "1"
            case .bitshuffleLZ4: "32008"
            }
        let out = try Python.run(
            Frames.pythonHelpers + """
                import sys, h5py
                try:
                    import hdf5plugin
                except ImportError:
                    pass
                path, n, h, w, dtype, filt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
                f = h5py.File(path, 'r')
                s = f['sharp']
                assert s.shape == (n, h, w, 3) and s.maxshape == (None, h, w, 3), (s.shape, s.maxshape)
                assert s.dtype == np.dtype(dtype), s.dtype
                assert s.chunks == (1, h, w, 3), s.chunks
                filters = list(s._filters.keys())
                assert filters == ([] if filt == 'none' else [('gzip' if filt == '1' else filt)]), filters
                for i in range(n):
                    e = expected_sharp(i, h, w)
                    if dtype == 'uint8':
                        assert (s[i] == e).all(), i
                    else:
                        assert (s[i] == (e.astype(np.float32) / 255).astype(dtype)).all(), i
                    r = f['spike_recon'][i]
                    assert r.shape == (h, w)
                    er = expected_recon(i, h, w)
                    if dtype == 'uint8':
                        assert (r == er).all()
                    else:
                        assert (r == (er.astype(np.float32) / 255).astype(dtype)).all()
                    q = f['quick_sharp'][i]
                    b = f['blur'][i]
                    if dtype == 'uint8':
                        assert (q == 255 - e).all() and (b == e).all()
                    else:
                        assert np.allclose(q, (255 - e) / 255, atol=1e-3) and np.allclose(b, e / 255, atol=1e-3)
                check_per_frame(f, n)
                a = f.attrs
                assert a['software_version'] == '0.1.0' and a['model_name'] == 'SpkDeblurNet'
                assert a['weights_sha256'] == 'ab' * 32
                assert a['model_config'] == '{"channels": 16}' and a['pipeline'] == 'stages:\\n  - source\\n'
                assert list(a['sensor_size']) == [250, 400] and a['spike_rate_hz'] == 20000.0
                assert a['note'] == 'test run' and list(a['image_size']) == [h, w]
                assert 'T' in a['created']
                names = sorted(s.dims[0].keys())
                assert names == sorted(['exposure_start_ns', 'exposure_end_ns', 'spike_center_index', 'frame_id', 'latency_ms']), names
                assert list(s.dims[0]['frame_id'][...]) == [100 + i for i in range(n)]
                print('ok')
                """, [path, "\(n)", "\(h)", "\(w)", c.pixelType.rawValue, filterID])
        #expect(out == "ok")
    }

    @Test func rejectsFramesOfTheWrongSize() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let writer = try SequenceWriter(
            url: URL(fileURLWithPath: dir.path("bad.h5")), options: .init(height: 4, width: 5))
        #expect(throws: RecordingError.self) {
            try writer.append(RecordedFrame(sharp: .uint8([1, 2, 3])))
        }
        do {
            try writer.append(RecordedFrame(sharp: .uint8([1, 2, 3])))
        } catch let error as RecordingError {
            #expect(error.description.contains("sharp"))
            #expect(error.description.contains("expected 4x5x3 = 60"))
        }
        try writer.append(Frames.frame(0, height: 4, width: 5, float: false))
        #expect(try writer.finish().frames == 1)
        #expect(throws: RecordingError.self) { try writer.finish() }
    }

    @Test func unwritablePathIsAClearError() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("missing-dir/out.h5")
        do {
            _ = try SequenceWriter(url: URL(fileURLWithPath: path), options: .init(height: 4, width: 4))
            Issue.record("created a file in a missing directory")
        } catch let error as RecordingError {
            #expect(error.stage == "create file")
            #expect(error.description.contains(path))
            #expect(error.message.contains("unable to") || error.message.lowercased().contains("no such file"))
        }
    }
}
