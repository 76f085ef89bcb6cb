internal import CCompression

/// How an image dataset's chunks are compressed.
public enum Compression: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Stored as is.
    case none
    /// zlib deflate (HDF5 filter 1) at `level` 1...9; 1 is fast and the default.
    case deflate(level: Int)
    /// Bitshuffle + LZ4 (HDF5 filter 32008, cd_values [0, 0, element size, 0, 2]); readers
    /// need the bitshuffle plugin (h5py: `import hdf5plugin`).
    case bitshuffleLZ4

    /// The default: deflate level 1.
    public static let `default` = Compression.deflate(level: 1)

    /// Parses `none`, `deflate`, `deflate:N` or `bitshuffle-lz4`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "none": self = .none
        case "deflate": self = .deflate(level: 1)
        case "bitshuffle-lz4", "bitshuffle", "bslz4": self = .bitshuffleLZ4
        default:
            let parts = text.lowercased().split(separator: ":")
            guard parts.count == 2, parts[0] == "deflate", let level = Int(parts[1]), (0...9).contains(level)
            else { return nil }
            self = .deflate(level: level)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .deflate(let level): "deflate:\(level)"
        case .bitshuffleLZ4: "bitshuffle-lz4"
        }
    }
}

/// Produces chunks byte-identical in format to what HDF5's filters would store, so they can be
/// written with direct chunk writes from any thread's output.
enum ChunkCodec {
    /// Compresses one chunk. Errors are only possible for impossible sizes.
    static func encode(_ raw: [UInt8], elementSize: Int, compression: Compression) -> [UInt8]? {
        switch compression {
        case .none: return raw
        case .deflate(let level): return deflate(raw, level: level)
        case .bitshuffleLZ4: return bitshuffleLZ4(raw, elementSize: elementSize)
        }
    }

    /// A zlib stream (header, deflate data, Adler-32) as HDF5's deflate filter stores it: that
    /// filter calls zlib's `compress2` on the whole chunk.
    static func deflate(_ raw: [UInt8], level: Int) -> [UInt8]? {
        var bound = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(bound))
        let rc = out.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &bound, src.baseAddress, uLong(raw.count), Int32(level))
            }
        }
        guard rc == Z_OK else { return nil }
        out.removeSubrange(Int(bound)...)
        return out
    }

    /// Bitshuffle's default block: 8 KiB of data, in elements, a multiple of 8.
    static func blockElements(elementSize: Int) -> Int {
        max(128, (8192 / elementSize) / 8 * 8)
    }

    /// The bitshuffle filter's LZ4 chunk: 8-byte big-endian uncompressed byte count, 4-byte
    /// big-endian block size in bytes, then per block a 4-byte big-endian compressed length and
    /// the LZ4 block of the bit-transposed block. A final partial block is cut to a multiple of
    /// 8 elements; the last (count % 8) elements are appended as raw bytes.
    static func bitshuffleLZ4(_ raw: [UInt8], elementSize: Int) -> [UInt8]? {
        let count = raw.count / elementSize
        let block = blockElements(elementSize: elementSize)
        var out: [UInt8] = []
        out.reserveCapacity(12 + raw.count / 2)
        appendBE(UInt64(raw.count), bytes: 8, to: &out)
        appendBE(UInt64(block * elementSize), bytes: 4, to: &out)
        let maxBlockBytes = block * elementSize
        var transposed = [UInt8](repeating: 0, count: maxBlockBytes)
        var compressed = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(maxBlockBytes))))
        var start = 0
        let whole = count - count % 8
        return raw.withUnsafeBufferPointer { src -> [UInt8]? in
            while start < whole {
                let n = min(block, whole - start)
                let bytes = n * elementSize
                transposed.withUnsafeMutableBufferPointer { dst in
                    transposeBits(
                        UnsafeBufferPointer(rebasing: src[(start * elementSize)..<(start * elementSize + bytes)]),
                        into: dst, count: n, elementSize: elementSize)
                }
                let written = compressed.withUnsafeMutableBufferPointer { dst in
                    transposed.withUnsafeBufferPointer { t in
                        t.baseAddress.map { base in
                            base.withMemoryRebound(to: CChar.self, capacity: bytes) { tp in
                                dst.baseAddress.map { d in
                                    d.withMemoryRebound(to: CChar.self, capacity: dst.count) { dp in
                                        LZ4_compress_default(tp, dp, Int32(bytes), Int32(dst.count))
                                    }
                                } ?? 0
                            }
                        } ?? 0
                    }
                }
                guard written > 0 else { return nil }
                appendBE(UInt64(written), bytes: 4, to: &out)
                out.append(contentsOf: compressed[0..<Int(written)])
                start += n
            }
            out.append(contentsOf: src[(whole * elementSize)..<(count * elementSize)])
            return out
        }
    }

    /// Undoes ``encode(_:elementSize:compression:)``; nil when the bytes are not a valid chunk
    /// of `rawCount` bytes.
    static func decode(_ stored: [UInt8], rawCount: Int, elementSize: Int, compression: Compression) -> [UInt8]? {
        switch compression {
        case .none:
            return stored.count == rawCount ? stored : nil
        case .deflate:
            var out = [UInt8](repeating: 0, count: rawCount)
            var length = uLong(rawCount)
            let rc = out.withUnsafeMutableBufferPointer { dst in
                stored.withUnsafeBufferPointer { src in
                    uncompress(dst.baseAddress, &length, src.baseAddress, uLong(stored.count))
                }
            }
            return rc == Z_OK && Int(length) == rawCount ? out : nil
        case .bitshuffleLZ4:
            return unBitshuffleLZ4(stored, rawCount: rawCount, elementSize: elementSize)
        }
    }

    private static func readBE(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    static func unBitshuffleLZ4(_ stored: [UInt8], rawCount: Int, elementSize: Int) -> [UInt8]? {
        guard stored.count >= 12, Int(readBE(stored[0..<8])) == rawCount else { return nil }
        let blockBytes = Int(readBE(stored[8..<12]))
        guard blockBytes > 0, blockBytes % (8 * elementSize) == 0 else { return nil }
        let count = rawCount / elementSize
        let whole = count - count % 8
        var out = [UInt8](repeating: 0, count: rawCount)
        var block = [UInt8](repeating: 0, count: blockBytes)
        var position = 12
        var start = 0
        while start < whole {
            let n = min(blockBytes / elementSize, whole - start)
            let bytes = n * elementSize
            guard position + 4 <= stored.count else { return nil }
            let compressedLength = Int(readBE(stored[position..<(position + 4)]))
            position += 4
            guard position + compressedLength <= stored.count else { return nil }
            let got = stored.withUnsafeBufferPointer { src in
                block.withUnsafeMutableBufferPointer { dst in
                    src.baseAddress.map { s in
                        dst.baseAddress.map { d in
                            s.advanced(by: position).withMemoryRebound(to: CChar.self, capacity: compressedLength) {
                                sp in
                                d.withMemoryRebound(to: CChar.self, capacity: bytes) { dp in
                                    LZ4_decompress_safe(sp, dp, Int32(compressedLength), Int32(bytes))
                                }
                            }
                        } ?? -1
                    } ?? -1
                }
            }
            guard Int(got) == bytes else { return nil }
            position += compressedLength
            block.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    untransposeBits(src, into: dst, offset: start * elementSize, count: n, elementSize: elementSize)
                }
            }
            start += n
        }
        let tail = rawCount - whole * elementSize
        guard stored.count - position == tail else { return nil }
        out.replaceSubrange((whole * elementSize)..<rawCount, with: stored[position...])
        return out
    }

    /// Inverse of ``transposeBits(_:into:count:elementSize:)``, writing at `offset` of `dst`.
    static func untransposeBits(
        _ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>, offset: Int, count: Int,
        elementSize: Int
    ) {
        let rowBytes = count / 8
        for j in 0..<elementSize {
            for group in 0..<rowBytes {
                var x: UInt64 = 0
                for k in 0..<8 { x |= UInt64(src[(j * 8 + k) * rowBytes + group]) << UInt64(8 * k) }
                // The 8x8 bit transpose is its own inverse.
                var t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA
                x = x ^ t ^ (t << 7)
                t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC
                x = x ^ t ^ (t << 14)
                t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0
                x = x ^ t ^ (t << 28)
                let base = offset + group * 8 * elementSize + j
                for m in 0..<8 { dst[base + m * elementSize] = UInt8(truncatingIfNeeded: x >> UInt64(8 * m)) }
            }
        }
    }

    private static func appendBE(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// Bit transpose of `count` elements (a multiple of 8): output row `8*j + k` (byte `j` of
    /// an element, bit `k`, least significant first) holds that bit of every element, element
    /// `i` at bit `i % 8` of byte `i / 8` of the row.
    static func transposeBits(
        _ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>, count: Int, elementSize: Int
    ) {
        let rowBytes = count / 8
        for j in 0..<elementSize {
            for group in 0..<rowBytes {
                // Gather byte j of 8 consecutive elements into one word, byte m = element m.
                var x: UInt64 = 0
                let base = group * 8 * elementSize + j
                if elementSize == 1, let raw = UnsafeRawPointer(src.baseAddress) {
                    // Bytes are elements: one little-endian load gathers all eight.
                    x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base, as: UInt64.self))
                } else {
                    for m in 0..<8 {
                        x |= UInt64(src[base + m * elementSize]) << UInt64(8 * m)
                    }
                }
                // Transpose the 8x8 bit matrix (bit 8m+k <-> bit 8k+m) in three swap rounds.
                var t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA
                x = x ^ t ^ (t << 7)
                t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC
                x = x ^ t ^ (t << 14)
                t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0
                x = x ^ t ^ (t << 28)
                for k in 0..<8 {
                    dst[(j * 8 + k) * rowBytes + group] = UInt8(truncatingIfNeeded: x >> UInt64(8 * k))
                }
            }
        }
    }
}
