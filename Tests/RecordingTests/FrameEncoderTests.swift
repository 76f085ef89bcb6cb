import Testing

@testable import Recording

struct FrameEncoderTests {
    /// Stored 8-bit frames: clamped (NaN to 0), times 255, rounded half away from zero, for
    /// every level and half level with its float neighbours, the ends and the non-finite values.
    @Test func floatFramesBecomeEightBitsRoundedHalfAway() {
        var values: [Float] = [.nan, .infinity, -.infinity, -0.0, 0, 1, 2, -1, .greatestFiniteMagnitude]
        for k in 0...510 {
            let x = Float(k) / 2 / 255
            values += [x, x.nextUp, x.nextDown, (Float(k) / 2 + 0.5).nextDown / 255]
        }
        // Products that land exactly on a half level.
        values += (0...254).map { (Float($0) + 0.5) / 255 }
        let expected = values.map { x -> UInt8 in
            let c = x.isNaN ? 0 : min(max(x, 0), 1)
            return UInt8((c * 255).rounded())
        }
        let got = FrameEncoder.convert(.float(values), to: .uint8)
        let wrong = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(got.count == values.count)
        #expect(wrong.isEmpty, "\(wrong.count) values differ, first at \(wrong.first.map { values[$0.offset] } ?? 0)")
    }
}
