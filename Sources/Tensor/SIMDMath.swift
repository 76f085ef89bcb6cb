/// Vectorised elementary functions for the hot loops (softmax, GELU).
enum SIMDMath {
    typealias V = SIMD16<Float>

    /// `exp(x)` to about 2 ulp (Cephes' single-precision polynomial with Cody-Waite range
    /// reduction); inputs below -87.3 give 0.
    @inline(__always)
    static func exp(_ x: V) -> V {
        var clamped = x.replacing(with: -87.3, where: x .< -87.3)
        clamped = clamped.replacing(with: 88.7, where: clamped .> 88.7)
        // Round to nearest through the 1.5 * 2^23 magic constant: its low mantissa bits then
        // hold the integer, which avoids the slow generic float-to-int vector conversion.
        let magic = V(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_040_888_963_4 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r + n * 2.121_944_400_546_905_8e-4
        var p = V(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: V.self)
        return (p * scale).replacing(with: 0, where: x .< -87.3)
    }

    /// `erf(x)` (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7).
    @inline(__always)
    static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.327_591_1 * a)
        var y = V(repeating: 1.061_405_429)
        y = y * t - 1.453_152_027
        y = y * t + 1.421_413_741
        y = y * t - 0.284_496_736
        y = y * t + 0.254_829_592
        let decay = SIMDMath.exp(-(a * a))
        y = 1 - y * t * decay
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Exact-form GELU `0.5 x (1 + erf(x / sqrt 2))`.
    @inline(__always)
    static func gelu(_ x: V) -> V {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5))
    }
}
