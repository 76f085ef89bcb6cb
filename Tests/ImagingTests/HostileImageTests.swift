import Foundation
import ImageCodecs
import Testing

@testable import Imaging

@Suite struct HostileImageTests {
    @Test func aPNGClaimingHugeDimensionsIsRefusedFromItsHeader() throws {
        var bytes = try ImageFile.encodePNG(Image(width: 4, height: 4, channels: 3))
        // IHDR width and height (big-endian) at bytes 16..<24: claim 20000 x 20000.
        for (offset, value) in [(16, 20000), (20, 20000)] {
            for k in 0..<4 { bytes[offset + k] = UInt8((value >> (8 * (3 - k))) & 0xFF) }
        }
        do {
            _ = try ImageFile.decode(bytes, name: "huge.png")
            Issue.record("decoded a 20000x20000 claim")
        } catch {
            #expect(error.description.contains("huge.png"))
            #expect(error.description.contains("20000x20000"), "\(error)")
        }
    }

    @Test func aFIFOIsRefusedWithoutWaiting() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID().uuidString).png").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        do {
            _ = try ImageFile.read(URL(fileURLWithPath: path))
            Issue.record("read a FIFO")
        } catch {
            #expect(error.description.contains("not a regular file"), "\(error)")
        }
    }
}
