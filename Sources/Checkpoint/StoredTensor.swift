/// One tensor as stored in a checkpoint: element type, shape and raw little-endian bytes.
///
/// The bytes are contiguous in row-major (C) order, whatever strides the tensor had when it
/// was saved. A tensor of shape `[]` is a scalar with one element.
public struct StoredTensor: Sendable, Equatable {
    /// The element type of ``data``.
    public var dtype: DType
    /// The size of each dimension, outermost first.
    public var shape: [Int]
    /// The elements, row-major and little-endian; `elementCount * dtype.byteSize` bytes.
    public var data: [UInt8]

    /// Creates a tensor from raw little-endian bytes.
    ///
    /// - Precondition: `data.count == shape.product * dtype.byteSize` and no dimension is
    ///   negative. Readers validate untrusted input before calling this.
    public init(dtype: DType, shape: [Int], data: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(
            data.count == shape.reduce(1, *) * dtype.byteSize,
            "\(data.count) bytes do not hold \(shape) elements of \(dtype.rawValue)")
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Creates a tensor from `Float` values, stored as `dtype` (`float32` by default;
    /// `float16` and `bfloat16` round to nearest, ties to even).
    ///
    /// - Precondition: `floats.count` equals the product of `shape`; `dtype` is a
    ///   floating-point type.
    public init(floats: [Float], shape: [Int], dtype: DType = .float32) {
        precondition(floats.count == shape.reduce(1, *), "\(floats.count) values for shape \(shape)")
        var bytes = [UInt8]()
        bytes.reserveCapacity(floats.count * dtype.byteSize)
        switch dtype {
        case .float32:
            for v in floats { bytes.appendLittleEndian(v.bitPattern) }
        case .float16:
            for v in floats { bytes.appendLittleEndian(HalfPrecision.halfBits(from: v)) }
        case .bfloat16:
            for v in floats { bytes.appendLittleEndian(HalfPrecision.bfloat16Bits(from: v)) }
        case .float64:
            for v in floats { bytes.appendLittleEndian(Double(v).bitPattern) }
        default:
            preconditionFailure("init(floats:) needs a floating-point dtype, got \(dtype.rawValue)")
        }
        self.init(dtype: dtype, shape: shape, data: bytes)
    }

    /// Creates an `int64` tensor.
    ///
    /// - Precondition: `int64s.count` equals the product of `shape`.
    public init(int64s: [Int64], shape: [Int]) {
        precondition(int64s.count == shape.reduce(1, *), "\(int64s.count) values for shape \(shape)")
        var bytes = [UInt8]()
        bytes.reserveCapacity(int64s.count * 8)
        for v in int64s { bytes.appendLittleEndian(UInt64(bitPattern: v)) }
        self.init(dtype: .int64, shape: shape, data: bytes)
    }

    /// The number of elements: the product of ``shape`` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements converted to `Float`.
    ///
    /// Floating-point types widen or narrow to `Float` (`float16`/`bfloat16` exactly,
    /// `float64` rounded); integer types convert by value (`int64` beyond 2^24 rounds);
    /// `bool` gives 0 or 1.
    /// - Throws: ``CheckpointError/badTensor(tensor:reason:)`` if ``data`` no longer matches
    ///   ``shape`` and ``dtype`` (the properties are mutable).
    public func floats() throws(CheckpointError) -> [Float] {
        if let sizeProblem { throw .badTensor(tensor: "", reason: sizeProblem) }
        let n = elementCount
        return data.withUnsafeBytes { raw -> [Float] in
            // The buffer holds exactly n elements (checked above); `element` copes with any
            // alignment of the array storage.
            switch dtype {
            case .float32:
                return (0..<n).map { Float(bitPattern: raw.element($0, as: UInt32.self)) }
            case .float16:
                return (0..<n).map { HalfPrecision.float(fromHalfBits: raw.element($0, as: UInt16.self)) }
            case .bfloat16:
                return (0..<n).map { HalfPrecision.float(fromBFloat16Bits: raw.element($0, as: UInt16.self)) }
            case .float64:
                return (0..<n).map { Float(Double(bitPattern: raw.element($0, as: UInt64.self))) }
            case .uint64:
                return (0..<n).map { Float(raw.element($0, as: UInt64.self)) }
            default:
                return integerValues(raw, count: n).map { Float($0) }
            }
        }
    }

    /// The elements as `Int64`, for integer (and `bool`) tensors such as index buffers.
    ///
    /// `uint64` values above `Int64.max` are refused rather than wrapped.
    /// - Throws: ``CheckpointError/badTensor(tensor:reason:)`` for floating-point tensors,
    ///   out-of-range `uint64` values, or bytes that do not match the shape.
    public func int64s() throws(CheckpointError) -> [Int64] {
        if let sizeProblem { throw .badTensor(tensor: "", reason: sizeProblem) }
        guard dtype.isIntegral else {
            throw .badTensor(tensor: "", reason: "int64s() needs an integer tensor, dtype is \(dtype.rawValue)")
        }
        if dtype == .uint64 {
            var out = [Int64]()
            out.reserveCapacity(elementCount)
            for v in data.withUnsafeBytes({ raw in (0..<elementCount).map { raw.element($0, as: UInt64.self) } }) {
                guard let i = Int64(exactly: v) else {
                    throw .badTensor(tensor: "", reason: "U64 value \(v) does not fit in Int64")
                }
                out.append(i)
            }
            return out
        }
        return data.withUnsafeBytes { integerValues($0, count: elementCount) }
    }

    /// Why ``data`` does not hold ``shape``'s elements, or nil when it does.
    var sizeProblem: String? {
        guard shape.allSatisfy({ $0 >= 0 }) else { return "negative dimension in shape \(shape)" }
        let (n, o1) = shape.reduce((1, false)) { acc, d in
            let m = acc.0.multipliedReportingOverflow(by: d)
            return (m.partialValue, acc.1 || m.overflow)
        }
        let (bytes, o2) = n.multipliedReportingOverflow(by: dtype.byteSize)
        if o1 || o2 || bytes != data.count {
            return "\(data.count) bytes do not hold shape \(shape) of \(dtype.rawValue)"
        }
        return nil
    }

    /// Reads integer elements; `uint64` wraps (callers handle it first).
    private func integerValues(_ raw: UnsafeRawBufferPointer, count n: Int) -> [Int64] {
        switch dtype {
        case .bool, .uint8:
            return (0..<n).map { Int64(raw[$0]) }
        case .int8:
            return (0..<n).map { Int64(Int8(bitPattern: raw[$0])) }
        case .int16:
            return (0..<n).map { Int64(raw.element($0, as: Int16.self)) }
        case .uint16:
            return (0..<n).map { Int64(raw.element($0, as: UInt16.self)) }
        case .int32:
            return (0..<n).map { Int64(raw.element($0, as: Int32.self)) }
        case .uint32:
            return (0..<n).map { Int64(raw.element($0, as: UInt32.self)) }
        case .int64:
            return (0..<n).map { raw.element($0, as: Int64.self) }
        case .uint64:
            return (0..<n).map { Int64(bitPattern: raw.element($0, as: UInt64.self)) }
        case .float16, .bfloat16, .float32, .float64:
            preconditionFailure("integerValues called for \(dtype.rawValue)")
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends the little-endian bytes of a fixed-width integer.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    /// The `index`-th little-endian element of type `T`, read without alignment requirements.
    fileprivate func element<T: FixedWidthInteger>(_ index: Int, as type: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }
}
