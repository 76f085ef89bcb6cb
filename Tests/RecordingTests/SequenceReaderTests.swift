import Foundation
import Recording
import TestSupport
import Testing

@Suite struct SequenceReaderTests {
    @Test(arguments: [Compression.none, .deflate(level: 1), .bitshuffleLZ4], [PixelType.uint8, .float16])
    func readsBackEveryFrame(compression: Compression, pixelType: PixelType) throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = URL(fileURLWithPath: dir.path("r.h5"))
        let (h, w, n) = (9, 11, 4)
        let writer = try SequenceWriter(
            url: url,
            options: .init(
                height: h, width: w, optionalDatasets: [.spikeRecon], pixelType: pixelType, compression: compression))
        for f in 0..<n { try writer.append(Frames.frame(f, height: h, width: w, float: false, extras: true)) }
        try writer.finish()
        let reader = try SequenceReader(url: url)
        defer { reader.close() }
        let info = try reader.info()
        #expect(info.frames == n && info.height == h && info.width == w)
        #expect(info.timeSpanNanoseconds == 0...Int64((n - 1) * 1000 + 500))
        let sharp = try #require(info.datasets.first { $0.name == "sharp" })
        #expect(sharp.shape == [n, h, w, 3] && sharp.chunk == [1, h, w, 3] && sharp.elementType == pixelType.rawValue)
        #expect(
            sharp.filters
                == (compression == .none ? [] : [compression == .bitshuffleLZ4 ? "bitshuffle-lz4" : "deflate"]))
        for f in 0..<n {
            let frame = try reader.frame(f)
            let recon = try reader.frame(f, of: .spikeRecon)
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 {
                        let expected = Float(Frames.value(f, y, x, c)) / 255
                        #expect(abs(frame[(y * w + x) * 3 + c] - expected) < 1e-3)
                    }
                    #expect(abs(recon[y * w + x] - Float(Frames.recon(f, y, x)) / 255) < 1e-3)
                }
            }
        }
        #expect(throws: RecordingError.self) { _ = try reader.frame(n) }
    }

    @Test func rejectsAFileThatIsNotARecording() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("x.h5")
        try "not hdf5".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try SequenceReader(url: URL(fileURLWithPath: path))
            Issue.record("opened a text file")
        } catch let error as RecordingError {
            #expect(error.description.contains(path))
            #expect(error.stage == "open")
        }
    }
}
