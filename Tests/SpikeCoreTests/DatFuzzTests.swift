import Foundation
import TestSupport
import Testing

@testable import SpikeCore

/// Bounded fuzz run of spike files: random geometries (extreme ones included), files cut or
/// extended at random, reads of random ranges; never a trap, refusals are one line.
@Suite struct DatFuzzTests {
    static let n = Mutator.iterations(default: 1000)

    @Test func randomGeometriesAndSizesNeverTrap() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spk-datfuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var m = Mutator(seed: 5)
        var tally = FuzzTally(".dat")
        let sides = [0, 1, 2, 7, 8, 16, 250, 400, 65_536, 65_537, Int(Int32.max), Int.max / 2, Int.max, -1, -36]
        let path = dir.appendingPathComponent("f.dat").path
        for i in 0..<Self.n {
            let size = m.below(4096)
            let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: m.next()) }
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let h = i % 3 == 0 ? sides[m.below(sides.count)] : 1 + m.below(40)
            let w = i % 3 == 1 ? sides[m.below(sides.count)] : 8 * (1 + m.below(8))
            do throws(SpikeError) {
                let g = try SpikeGeometry(height: h, width: w)
                let file = try DatFile(path: path, geometry: g, strict: m.below(2) == 0)
                let lo = m.below(file.frameCount + 3) - 1
                let hi = lo + m.below(8)
                if lo >= 0, hi >= lo {
                    // Cut the file under the reader sometimes: the read must fail cleanly.
                    if m.below(3) == 0 { truncate(path, off_t(m.below(size + 1))) }
                    _ = try file.read(lo..<hi)
                }
                tally.record(nil)
            } catch { tally.record(error) }
        }
        print(tally)
        #expect(tally.refused > Self.n / 10)
        #expect(tally.multiLine == 0)
    }
}
