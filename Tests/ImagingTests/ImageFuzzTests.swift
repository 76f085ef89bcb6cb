import Foundation
import ImageCodecs
import TestSupport
import Testing

@testable import Imaging

/// Bounded fuzz runs of the PNG and JPEG decoders (headers first: the pixel budget is
/// checked before decoding), never a trap, one-line refusals.
@Suite struct ImageFuzzTests {
    static let n = Mutator.iterations(default: 1500)

    @Test(arguments: ["png", "jpeg"])
    func mutatedImagesNeverTrap(format: String) throws {
        let image = Image(
            width: 24, height: 16, channels: 3, pixels: (0..<(24 * 16 * 3)).map { Float($0 % 97) / 96 })
        let seed = format == "png" ? try ImageFile.encodePNG(image) : try ImageFile.encodeJPEG(image)
        var m = Mutator(seed: format == "png" ? 3 : 4)
        var tally = FuzzTally(format)
        for _ in 0..<Self.n {
            do throws(ImagingError) {
                let decoded = try ImageFile.decode(m.mutate(seed, focus: 128), name: "fuzz.\(format)")
                #expect(decoded.width * decoded.height <= 100_000_000)
                tally.record(nil)
            } catch { tally.record(error) }
        }
        print(tally)
        #expect(tally.refused > 0)
        #expect(tally.multiLine == 0)
    }
}
