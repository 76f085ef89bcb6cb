/// Bit-level conversions between IEEE 754 binary16 / bfloat16 and `Float`.
///
/// Done by hand instead of with `Float16` because that type is unavailable on some
/// platforms (macOS on Intel), and the results must be identical everywhere.
enum HalfPrecision {
    /// Widens an IEEE binary16 bit pattern to `Float` exactly (subnormals, infinities and
    /// NaN payloads included).
    static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        let bits: UInt32
        if exponent == 0x1F {
            // Infinity or NaN: keep the payload in the top mantissa bits.
            bits = sign | 0x7F80_0000 | (mantissa << 13)
        } else if exponent != 0 {
            bits = sign | ((exponent + 112) << 23) | (mantissa << 13)
        } else if mantissa == 0 {
            bits = sign
        } else {
            // Subnormal half: normalise; every binary16 subnormal is a normal Float.
            var e: UInt32 = 113
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                e -= 1
            }
            bits = sign | (e << 23) | ((mantissa & 0x3FF) << 13)
        }
        return Float(bitPattern: bits)
    }

    /// Narrows a `Float` to the nearest binary16 bit pattern (round to nearest, ties to
    /// even; overflow goes to infinity; NaN stays NaN).
    static func halfBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let unbiased = exponent - 127
        if unbiased > 15 { return sign | 0x7C00 }
        if unbiased >= -14 {
            // Normal half: drop 13 mantissa bits with round-to-nearest-even; a carry into the
            // exponent (or to infinity) is the correct result.
            let halfExp = UInt32(unbiased + 15)
            var result = (halfExp << 10) | (mantissa >> 13)
            let rest = mantissa & 0x1FFF
            if rest > 0x1000 || (rest == 0x1000 && result & 1 == 1) { result += 1 }
            return sign | UInt16(result)
        }
        if unbiased < -25 { return sign }
        // Subnormal half: value = m * 2^-24 with the implicit bit made explicit.
        let full = mantissa | 0x80_0000
        let shift = UInt32(-unbiased - 14 + 13)  // 14...24
        var result = full >> shift
        let rest = full & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if rest > halfway || (rest == halfway && result & 1 == 1) { result += 1 }
        return sign | UInt16(result)
    }

    /// Widens a bfloat16 bit pattern to `Float` (exact: bfloat16 is the top half of a Float).
    static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Narrows a `Float` to bfloat16 with round to nearest, ties to even; NaN stays NaN.
    static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
