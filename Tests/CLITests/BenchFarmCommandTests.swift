import Foundation
import Testing

/// `bench farm` starts real worker processes of this binary and reports one table row per
/// cell; a frame that does not come back makes it fail.
@Suite struct BenchFarmCommandTests {
    @Test func everyFrameComesBackThroughTheWorkers() throws {
        let result = try run([
            "bench", "farm", "--size", "64x32", "--frames", "24", "--workers", "1,3", "--service-ms", "0,5",
            "--runs", "1",
        ])
        #expect(result.status == 0, "\(result.err)")
        let rows = result.out.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| workers") }
            .filter { !$0.hasPrefix("| ---") }
        #expect(rows.count == 4, "\(result.out)")
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let rate = Double(cells[2]) ?? 0
            let coordinator = Double(cells[5]) ?? -1
            #expect(rate > 0 && coordinator >= 0, "\(row)")
        }
        // With 5 ms workers the ideal rate is N x 200 frames/s; the ratio is printed beside it.
        #expect(rows.contains { $0.hasPrefix("| 3 | 5 |") && $0.contains("| 600.0 |") }, "\(result.out)")
    }
}
