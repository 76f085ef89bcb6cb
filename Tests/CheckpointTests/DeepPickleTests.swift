import Testing

@testable import Checkpoint

/// Deeply nested containers are refused while the file is read, instead of overflowing the
/// stack when the values are freed.
@Suite struct DeepPickleTests {
    @Test(arguments: [(0x5D, 0x61), (0x29, 0x85)])  // lists with APPEND; tuples with TUPLE1
    func thirtyThousandNestedContainersAreRefused(open: Int, close: Int) throws {
        var p = PickleWriter()
        let depth = 30_000
        if open == 0x5D {
            for _ in 0..<depth { p.op(0x5D) }
            for _ in 0..<(depth - 1) { p.op(UInt8(close)) }
        } else {
            p.op(0x29)
            for _ in 0..<depth { p.op(UInt8(close)) }
        }
        p.stop()
        do {
            _ = try TorchCheckpoint.read(bytes: torchArchive(pickle: p.bytes, storages: [:]), file: "deep.pth")
            Issue.record("accepted a nesting of \(depth)")
        } catch {
            #expect(error.description.contains("deep.pth"), "\(error)")
            #expect(error.description.contains("nested deeper than"), "\(error)")
        }
    }

    @Test func ordinaryNestingStillLoads() throws {
        // The wrapped-state-dict test covers real files; a 50-deep tuple is still fine.
        var p = PickleWriter()
        p.op(0x29)
        for _ in 0..<50 { p.op(0x85) }
        p.stop()
        #expect(throws: CheckpointError.self) {
            // Not a state dict, but refused for that reason, not for its nesting.
            do {
                _ = try TorchCheckpoint.read(bytes: torchArchive(pickle: p.bytes, storages: [:]), file: "t.pth")
            } catch {
                #expect(!"\(error)".contains("nested deeper"), "\(error)")
                throw error
            }
        }
    }
}
