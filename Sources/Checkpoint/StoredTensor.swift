/// Element types a checkpoint tensor may have.
public enum DType: String, Sendable, CaseIterable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float64 = "F64"
    case int64 = "I64"
    case int32 = "I32"
    case uint8 = "U8"
    case int8 = "I8"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .uint8, .int8, .bool: 1
        }
    }
}

/// One named tensor of a checkpoint: dtype, shape and raw little-endian contiguous data.
public struct StoredTensor: Sendable, Equatable {
    /// Element type.
    public var dtype: DType
    /// Shape, outermost first.
    public var shape: [Int]
    /// Raw little-endian bytes, row-major contiguous.
    public var data: [UInt8]

    /// Wraps raw data.
    public init(dtype: DType, shape: [Int], data: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// A float32 tensor from values.
    public init(floats: [Float], shape: [Int]) {
        precondition(floats.count == shape.reduce(1, *), "value count does not match shape")
        self.dtype = .float32
        self.shape = shape
        self.data = floats.withUnsafeBytes { Array($0) }
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The values converted to `Float` (from any floating or integer dtype).
    public func floats() -> [Float] {
        let n = elementCount
        return data.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case .float32:
                return (0..<n).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
            case .float64:
                return (0..<n).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian)) }
            case .float16:
                return (0..<n).map { Self.halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) }
            case .bfloat16:
                return (0..<n).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) << 16) }
            case .int64:
                return (0..<n).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .int32:
                return (0..<n).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .uint8, .bool:
                return (0..<n).map { Float(raw[$0]) }
            case .int8:
                return (0..<n).map { Float(Int8(bitPattern: raw[$0])) }
            }
        }
    }

    /// The values as `Int64` (integer dtypes only; floats are truncated).
    public func int64s() -> [Int64] {
        if dtype == .int64 {
            let n = elementCount
            return data.withUnsafeBytes { raw in
                (0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            }
        }
        return floats().map { Int64($0) }
    }

    /// IEEE 754 binary16 to binary32.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // Subnormal or zero: mant * 2^-24.
            let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
    }
}
