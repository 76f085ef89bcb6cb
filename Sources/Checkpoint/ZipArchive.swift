/// A minimal reader of the uncompressed ("stored") zip archives that `torch.save` writes.
///
/// Reads the end-of-central-directory record (and its zip64 form), the central directory and
/// each local header; refuses compressed entries.
struct ZipArchive {
    struct Entry {
        var name: String
        var dataOffset: Int
        var size: Int
    }

    let bytes: [UInt8]
    let name: String
    private(set) var entries: [String: Entry] = [:]

    init(bytes: [UInt8], name: String) throws(CheckpointError) {
        self.bytes = bytes
        self.name = name
        try parse()
    }

    private func fail(_ problem: String) -> CheckpointError { CheckpointError(file: name, problem: problem) }

    private func u16(_ o: Int) throws(CheckpointError) -> Int {
        guard o >= 0, o + 2 <= bytes.count else { throw fail("truncated zip archive (offset \(o))") }
        return Int(bytes[o]) | Int(bytes[o + 1]) << 8
    }

    private func u32(_ o: Int) throws(CheckpointError) -> Int {
        guard o >= 0, o + 4 <= bytes.count else { throw fail("truncated zip archive (offset \(o))") }
        return (0..<4).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) }
    }

    private func u64(_ o: Int) throws(CheckpointError) -> Int {
        guard o >= 0, o + 8 <= bytes.count else { throw fail("truncated zip archive (offset \(o))") }
        let v = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) }
        guard v <= UInt64(Int.max) else { throw fail("zip64 field out of range") }
        return Int(v)
    }

    private mutating func parse() throws(CheckpointError) {
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while i >= lowest {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x05, bytes[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a complete zip archive (no end-of-central-directory record; truncated?)") }
        var count = try u16(eocd + 10)
        var cdSize = try u32(eocd + 12)
        var cdOffset = try u32(eocd + 16)
        if count == 0xFFFF || cdOffset == 0xFFFF_FFFF || cdSize == 0xFFFF_FFFF {
            // zip64: the locator precedes the EOCD record.
            let locator = eocd - 20
            guard locator >= 0, try u32(locator) == 0x0706_4B50 else { throw fail("zip64 locator missing") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("zip64 end record missing") }
            count = try u64(record + 32)
            cdSize = try u64(record + 40)
            cdOffset = try u64(record + 48)
        }
        guard cdOffset + cdSize <= bytes.count else { throw fail("central directory lies outside the file (truncated?)") }
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("corrupt central directory at offset \(p)") }
            let method = try u16(p + 10)
            var compressed = try u32(p + 20)
            var size = try u32(p + 24)
            let nameLen = try u16(p + 28)
            let extraLen = try u16(p + 30)
            let commentLen = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLen <= bytes.count else { throw fail("truncated central directory") }
            let entryName = String(decoding: bytes[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            // zip64 extra field: sizes and offset that overflowed 32 bits, in this order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = try u16(e)
                let len = try u16(e + 2)
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(q) }
                }
                e += 4 + len
            }
            guard method == 0 else {
                throw fail("entry '\(entryName)' is compressed (method \(method)); only stored entries are supported")
            }
            guard try u32(local) == 0x0403_4B50 else { throw fail("corrupt local header for '\(entryName)'") }
            let dataOffset = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard dataOffset + size <= bytes.count else {
                throw fail("entry '\(entryName)' extends past the end of the file (truncated)")
            }
            entries[entryName] = Entry(name: entryName, dataOffset: dataOffset, size: size)
            p += 46 + nameLen + extraLen + commentLen
        }
    }

    func data(of entry: Entry) -> ArraySlice<UInt8> {
        bytes[entry.dataOffset..<(entry.dataOffset + entry.size)]
    }
}
