import Testing

@testable import Recording

@Suite struct ChunkCodecTests {
    /// The word-at-a-time bit transpose equals the definition, bit by bit.
    @Test(arguments: [1, 2, 4, 8])
    func transposeMatchesDefinition(elementSize: Int) {
        let count = 64
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let input = (0..<(count * elementSize)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        var output = [UInt8](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                ChunkCodec.transposeBits(src, into: dst, count: count, elementSize: elementSize)
            }
        }
        let rowBytes = count / 8
        for i in 0..<count {
            for j in 0..<elementSize {
                for k in 0..<8 {
                    let expected = (input[i * elementSize + j] >> UInt8(k)) & 1
                    let got = (output[(j * 8 + k) * rowBytes + i / 8] >> UInt8(i % 8)) & 1
                    #expect(expected == got)
                }
            }
        }
    }

    @Test func bitshuffleHeaderAndTrailingBytes() {
        let raw = (0..<(3 * 8192 + 13)).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let encoded = ChunkCodec.bitshuffleLZ4(raw, elementSize: 1) ?? []
        #expect(Array(encoded[0..<8]) == [0, 0, 0, 0, 0, 0, 0x60, 0x0D])  // 24589 bytes
        #expect(Array(encoded[8..<12]) == [0, 0, 0x20, 0])  // 8192-byte blocks
        #expect(Array(encoded.suffix(5)) == Array(raw.suffix(5)))  // 24589 % 8 raw bytes
    }

    @Test func parsesCompressionNames() {
        #expect(Compression(parsing: "deflate") == .deflate(level: 1))
        #expect(Compression(parsing: "deflate:6") == .deflate(level: 6))
        #expect(Compression(parsing: "bitshuffle-lz4") == .bitshuffleLZ4)
        #expect(Compression(parsing: "none") == Compression.none)
        #expect(Compression(parsing: "zstd") == nil)
    }
}
