// Shared by the bf16 kernel tests: `n` seeded pseudo-random values in [-1, 1).
func values(_ n: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state % 20_000) / 10_000 - 1
    }
}
