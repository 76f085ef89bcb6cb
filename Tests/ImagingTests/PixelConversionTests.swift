import Foundation
import Testing

@testable import Imaging

/// Values where rounding and clamping decide: every level and half level with its float
/// neighbours, the ends, NaN and the infinities, and seeded values around [0, 1].
private func hostileUnitValues() -> [Float] {
    var v: [Float] = [
        .nan, -.nan, .infinity, -.infinity, 0, -0.0, 1, 1.5, -1, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
    ]
    for k in 0...510 {
        let x = Float(k) / 2 / 255
        v += [x, x.nextUp, x.nextDown, x.nextUp.nextUp, x.nextDown.nextDown]
    }
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    for _ in 0..<50_000 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        v.append(Float(state % 1_200_001) / 1_000_000 - 0.1)
    }
    return v
}

struct PixelConversionTests {
    @Test func eightBitSamplesBecomeTheirQuotientBy255() {
        let all = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let image = Image(uint8: all, width: 1000, height: 1, channels: 1)
        #expect(image.pixels == all.map { Float($0) / 255 })
    }

    @Test func floatsBecomeEightBitsRoundedHalfToEven() {
        let values = hostileUnitValues()
        let image = Image(width: values.count, height: 1, channels: 1, pixels: values)
        let expected = values.map { x -> UInt8 in
            let c: Float = x > 0 ? min(x, 1) : 0
            return UInt8((c * 255).rounded(.toNearestOrEven))
        }
        let got = image.toUInt8()
        let wrong = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(wrong.isEmpty, "\(wrong.count) values differ, first at \(wrong.first.map { values[$0.offset] } ?? 0)")
    }
}
