/// A minimal reader for the uncompressed zip archives that `torch.save` writes.
///
/// Reads the end-of-central-directory record (and its zip64 form), the central directory,
/// and each entry's local header; entries must be stored (method 0). Everything is bounds
/// checked against the file, and entry CRC-32s are verified when read.
struct ZipArchive {
    /// One member of the archive.
    struct Entry {
        var name: String
        var method: Int
        var flags: Int
        var crc32: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    let bytes: [UInt8]
    let file: String
    /// Entries in central-directory order.
    private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    init(bytes: [UInt8], file: String) throws(CheckpointError) {
        self.bytes = bytes
        self.file = file
        try readCentralDirectory()
    }

    /// The entry with this exact name, if any.
    func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// The bytes of a stored entry, CRC checked.
    func contents(of entry: Entry) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard entry.method == 0 else {
            throw .compressedEntry(file: file, entry: entry.name, method: entry.method)
        }
        guard entry.flags & 1 == 0 else {
            throw .malformedZip(file: file, reason: "entry '\(entry.name)' is encrypted")
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw .malformedZip(file: file, reason: "stored entry '\(entry.name)' has differing sizes")
        }
        let h = entry.localHeaderOffset
        guard h <= bytes.count - 30 else {
            throw .truncated(file: file, what: "local header of '\(entry.name)' lies beyond the end")
        }
        guard try u32(h) == 0x0403_4B50 else {
            throw .malformedZip(file: file, reason: "no local header signature for '\(entry.name)' at byte \(h)")
        }
        let start = h + 30 + Int(try u16(h + 26)) + Int(try u16(h + 28))
        guard start <= bytes.count, entry.uncompressedSize <= bytes.count - start else {
            throw .truncated(
                file: file,
                what: "data of '\(entry.name)' (\(entry.uncompressedSize) bytes at \(start)) runs past the end")
        }
        let data = bytes[start..<(start + entry.uncompressedSize)]
        let crc = CRC32.checksum(data)
        guard crc == entry.crc32 else {
            throw .malformedZip(
                file: file,
                reason: "CRC-32 mismatch in '\(entry.name)' (stored \(hex(entry.crc32)), computed \(hex(crc)))")
        }
        return data
    }

    private mutating func readCentralDirectory() throws(CheckpointError) {
        // The end-of-central-directory record is 22 bytes plus a comment of at most 65535.
        guard bytes.count >= 22 else {
            throw .truncated(file: file, what: "\(bytes.count) bytes cannot hold a zip directory")
        }
        var eocd = -1
        var p = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while p >= lowest {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4B, bytes[p + 2] == 0x05, bytes[p + 3] == 0x06 {
                eocd = p
                break
            }
            p -= 1
        }
        guard eocd >= 0 else {
            throw .truncated(file: file, what: "no zip end-of-central-directory record (file cut short?)")
        }
        var count = Int(try u16(eocd + 10))
        var size = Int(try u32(eocd + 12))
        var offset = Int(try u32(eocd + 16))
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            // Zip64: a 20-byte locator right before the record points at the zip64 record.
            let locator = eocd - 20
            guard locator >= 0, try u32(locator) == 0x0706_4B50 else {
                throw .malformedZip(file: file, reason: "zip64 sizes announced but no zip64 locator")
            }
            let record = try int64(locator + 8)
            guard record >= 0, record <= bytes.count - 56, try u32(record) == 0x0606_4B50 else {
                throw .malformedZip(file: file, reason: "zip64 end-of-central-directory record missing")
            }
            count = try int64(record + 32)
            size = try int64(record + 40)
            offset = try int64(record + 48)
        }
        guard offset >= 0, size >= 0, offset <= bytes.count, size <= bytes.count - offset else {
            throw .truncated(file: file, what: "central directory (\(size) bytes at \(offset)) lies beyond the end")
        }
        var q = offset
        for _ in 0..<count {
            guard q <= bytes.count - 46, try u32(q) == 0x0201_4B50 else {
                throw .malformedZip(file: file, reason: "bad central directory entry at byte \(q)")
            }
            let flags = Int(try u16(q + 8))
            let method = Int(try u16(q + 10))
            let crc = try u32(q + 16)
            var compressed = Int(try u32(q + 20))
            var uncompressed = Int(try u32(q + 24))
            let nameLength = Int(try u16(q + 28))
            let extraLength = Int(try u16(q + 30))
            let commentLength = Int(try u16(q + 32))
            var local = Int(try u32(q + 42))
            let nameStart = q + 46
            let end = nameStart + nameLength + extraLength + commentLength
            guard end <= bytes.count else {
                throw .truncated(file: file, what: "central directory entry at byte \(q) runs past the end")
            }
            let name = String(decoding: bytes[nameStart..<(nameStart + nameLength)], as: UTF8.self)
            // Zip64 extended information (header id 1) holds, in order, whichever of the
            // uncompressed size, compressed size and local offset are saturated above.
            var e = nameStart + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e)
                let length = Int(try u16(e + 2))
                var f = e + 4
                guard f + length <= extraEnd else { break }
                if id == 1 {
                    if uncompressed == 0xFFFF_FFFF, f + 8 <= e + 4 + length { uncompressed = try int64(f); f += 8 }
                    if compressed == 0xFFFF_FFFF, f + 8 <= e + 4 + length { compressed = try int64(f); f += 8 }
                    if local == 0xFFFF_FFFF, f + 8 <= e + 4 + length { local = try int64(f); f += 8 }
                }
                e += 4 + length
            }
            guard local >= 0, compressed >= 0, uncompressed >= 0 else {
                throw .malformedZip(file: file, reason: "entry '\(name)' has out-of-range sizes")
            }
            index[name] = entries.count
            entries.append(
                Entry(
                    name: name, method: method, flags: flags, crc32: crc, compressedSize: compressed,
                    uncompressedSize: uncompressed, localHeaderOffset: local))
            q = end
        }
    }

    private func u16(_ at: Int) throws(CheckpointError) -> UInt16 {
        guard at >= 0, at + 2 <= bytes.count else { throw .truncated(file: file, what: "zip structure at byte \(at)") }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private func u32(_ at: Int) throws(CheckpointError) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { throw .truncated(file: file, what: "zip structure at byte \(at)") }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    /// A zip64 field; values beyond `Int.max` are refused as malformed.
    private func int64(_ at: Int) throws(CheckpointError) -> Int {
        guard at >= 0, at + 8 <= bytes.count else { throw .truncated(file: file, what: "zip structure at byte \(at)") }
        let v = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
        guard let i = Int(exactly: v) else { throw .malformedZip(file: file, reason: "zip64 field \(v) out of range") }
        return i
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as used by zip.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        let done: UInt32? = bytes.withContiguousStorageIfAvailable { buffer in
            var d = c
            for b in buffer { d = table[Int((d ^ UInt32(b)) & 0xFF)] ^ (d >> 8) }
            return d
        }
        if let done {
            c = done
        } else {
            for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
