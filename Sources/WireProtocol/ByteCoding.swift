/// Little-endian writer for fixed headers.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Double) { write(value.bitPattern) }

    mutating func write(raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Little-endian reader over a header whose length has been checked by the caller.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        let size = MemoryLayout<T>.size
        precondition(offset + size <= bytes.count, "header read past its checked length")
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    mutating func readDouble() -> Double { Double(bitPattern: read(UInt64.self)) }

    mutating func skip(_ n: Int) { offset += n }
}

/// Checks part count, header length, magic and version common to every message kind.
func checkEnvelope(
    _ parts: [[UInt8]], magic: [UInt8], name: String, headerSize: Int
) throws(WireProtocolError) -> ByteReader {
    guard parts.count == 2 else {
        throw .malformed(
            .wrongPartCount, detail: "\(name) message has \(parts.count) parts, expected 2 (header, payload)")
    }
    let header = parts[0]
    guard header.count >= 6 else {
        throw .malformed(.shortHeader, detail: "\(name) header is \(header.count) bytes, expected \(headerSize)")
    }
    guard Array(header[0..<4]) == magic else {
        throw .malformed(.badMagic, detail: "\(name) header does not start with magic \"\(name)\"")
    }
    var reader = ByteReader(header)
    reader.skip(4)
    let version = ProtocolVersion(rawValue: reader.read(UInt16.self))
    guard ProtocolVersion.current.accepts(version) else {
        throw .unsupportedVersion(magic: name, found: version, supported: .current)
    }
    guard header.count >= headerSize else {
        throw .malformed(.shortHeader, detail: "\(name) header is \(header.count) bytes, expected \(headerSize)")
    }
    return reader
}

/// Float32 values as the protocols carry them: little-endian, back to back. On little-endian
/// hosts that is memory order, so values move with one copy; other hosts swap each value.
enum FloatBytes {
    /// Writes `values` as little-endian float32 at `destination`, which has room for
    /// `4 * values.count` bytes.
    static func store(_ values: UnsafeBufferPointer<Float>, to destination: UnsafeMutableRawPointer) {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        #if _endian(little)
            destination.copyMemory(from: base, byteCount: 4 * values.count)
        #else
            for i in 0..<values.count {
                destination.storeBytes(of: base[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        #endif
    }

    /// Reads `values.count` little-endian float32 from `source`, which holds at least
    /// `4 * values.count` bytes (checked by the caller).
    static func load(from source: UnsafeRawPointer, into values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        #if _endian(little)
            UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: 4 * values.count)
        #else
            for i in 0..<values.count {
                base[i] = Float(
                    bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        #endif
    }

    /// `header` followed by `values` as little-endian float32, in one array allocated once.
    static func encode(header: [UInt8], values: UnsafeBufferPointer<Float>) -> [UInt8] {
        let count = header.count + 4 * values.count
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            header.withUnsafeBufferPointer { h in
                if let from = h.baseAddress { base.initialize(from: from, count: h.count) }
            }
            store(values, to: UnsafeMutableRawPointer(base + header.count))
            initialized = count
        }
    }

    /// `count` floats read from `bytes` at `offset`; the caller has checked that
    /// `offset + 4 * count <= bytes.count`.
    static func decode(_ bytes: [UInt8], offset: Int, count: Int) -> [Float] {
        precondition(
            offset >= 0 && count >= 0 && offset + 4 * count <= bytes.count, "float read past its checked length")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                if let source = raw.baseAddress { load(from: source + offset, into: buffer) }
            }
            initialized = count
        }
    }
}
