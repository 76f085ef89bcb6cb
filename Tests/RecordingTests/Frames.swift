import Foundation
import Recording

/// Deterministic test frames; the Python checks compute the same formulas independently.
enum Frames {
    static func value(_ f: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 {
        UInt8((f * 13 + y * 3 + x * 5 + c * 11) % 256)
    }

    static func recon(_ f: Int, _ y: Int, _ x: Int) -> UInt8 {
        UInt8((f * 7 + y + 2 * x) % 256)
    }

    static func frame(_ f: Int, height: Int, width: Int, float: Bool, extras: Bool = false) -> RecordedFrame {
        var rgb = [UInt8](repeating: 0, count: height * width * 3)
        var gray = [UInt8](repeating: 0, count: height * width)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { rgb[(y * width + x) * 3 + c] = value(f, y, x, c) }
                gray[y * width + x] = recon(f, y, x)
            }
        }
        let sharp: RecordedFrame.Pixels = float ? .float(rgb.map { Float($0) / 255 }) : .uint8(rgb)
        return RecordedFrame(
            sharp: sharp,
            spikeRecon: extras ? .float(gray.map { Float($0) / 255 }) : nil,
            quickSharp: extras ? .uint8(rgb.map { 255 - $0 }) : nil,
            blur: extras ? .uint8(rgb) : nil,
            exposureStartNanoseconds: Int64(f * 1000), exposureEndNanoseconds: Int64(f * 1000 + 500),
            spikeCenterIndex: Int64(f * 2 + 1), frameID: Int64(100 + f), latency: .milliseconds(f) / 2)
    }

    /// Python that defines `expected_sharp(f, h, w)`, `expected_recon(f, h, w)` and
    /// `check_per_frame(file, n)`.
    static let pythonHelpers = """
        import numpy as np
        def expected_sharp(f, h, w):
            y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing='ij')
            return ((f * 13 + y * 3 + x * 5 + c * 11) % 256).astype(np.uint8)
        def expected_recon(f, h, w):
            y, x = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
            return ((f * 7 + y + 2 * x) % 256).astype(np.uint8)
        def check_per_frame(f, n):
            i = np.arange(n)
            assert (f['frame_id'][:n] == 100 + i).all(), f['frame_id'][:n]
            assert (f['exposure_start_ns'][:n] == i * 1000).all()
            assert (f['exposure_end_ns'][:n] == i * 1000 + 500).all()
            assert (f['spike_center_index'][:n] == i * 2 + 1).all()
            assert np.allclose(f['latency_ms'][:n], i * 0.5), f['latency_ms'][:n]
            assert f['frame_id'].dtype == np.int64 and f['latency_ms'].dtype == np.float32

        """
}
