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
        throw .malformed(.wrongPartCount, detail: "\(name) message has \(parts.count) parts, expected 2 (header, payload)")
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
