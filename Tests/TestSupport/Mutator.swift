import Foundation
import SpikeCore

/// Deterministic byte mutations for bounded fuzz runs in the test suite.
///
/// `FUZZ_ITERATIONS` sets how many mutations each fuzz test runs (the test command uses the
/// tests' defaults; `tools/fuzz` runs 10,000 per parser and prints the counts).
public struct Mutator {
    private var random: SplitMix64

    /// A mutator seeded with `seed`.
    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// Iterations for one fuzz test: `FUZZ_ITERATIONS`, or `default`.
    public static func iterations(default n: Int) -> Int {
        ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? n
    }

    /// The next pseudo-random number (SpikeCore's SplitMix64).
    public mutating func next() -> UInt64 { random.next() }

    /// A number in `0..<n` (`n` > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// `seed` with 1-4 mutations; offsets favour the first and last `focus` bytes, where
    /// headers and directories live.
    public mutating func mutate(_ seed: [UInt8], focus: Int = 512) -> [UInt8] {
        var b = seed
        for _ in 0...below(4) {
            guard !b.isEmpty else {
                b = (0..<below(64)).map { _ in UInt8(truncatingIfNeeded: next()) }
                continue
            }
            let offset: Int
            switch below(3) {
            case 0: offset = below(min(focus, b.count))
            case 1: offset = max(0, b.count - 1 - below(min(focus, b.count)))
            default: offset = below(b.count)
            }
            switch below(7) {
            case 0: b[offset] = UInt8(truncatingIfNeeded: next())
            case 1: b[offset] ^= UInt8(1 << below(8))
            case 2:
                // An extreme little-endian integer.
                let values: [UInt64] = [0, 1, 0x7F, 0xFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 63, .max, .max - 1]
                let v = values[below(values.count)]
                let width = [2, 4, 8][below(3)]
                for k in 0..<width where offset + k < b.count {
                    b[offset + k] = UInt8(truncatingIfNeeded: v >> (8 * k))
                }
            case 3: b.removeSubrange(offset..<b.count)  // truncate
            case 4:
                let n = min(b.count - offset, 1 + below(32))
                b.insert(contentsOf: b[offset..<(offset + n)], at: below(b.count))  // duplicate a run
            case 5:
                b.insert(contentsOf: (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: offset)
            default:
                let n = min(b.count - offset, 1 + below(64))
                b.removeSubrange(offset..<(offset + n))
            }
        }
        return b
    }
}

/// What a fuzz run saw, printed by `tools/fuzz`.
public struct FuzzTally: CustomStringConvertible {
    public let parser: String
    public var accepted = 0
    public var refused = 0
    /// Refusals whose message spans more than one line (should stay 0).
    public var multiLine = 0

    public init(_ parser: String) { self.parser = parser }

    /// Records one outcome.
    public mutating func record(_ error: (any Error)?) {
        guard let error else {
            accepted += 1
            return
        }
        refused += 1
        if "\(error)".contains("\n") { multiLine += 1 }
    }

    public var description: String {
        "fuzz \(parser): \(accepted + refused) inputs, \(accepted) accepted, \(refused) refused, no trap"
    }
}
