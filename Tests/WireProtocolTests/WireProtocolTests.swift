import Foundation
import SpikeCore
import Synchronization
import Testing

@testable import WireProtocol

/// Little-endian bytes of an integer, written independently of the module's writer.
func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
}

/// A spike header assembled field by field from the documented layout.
func spikeHeaderBytes(
    magic: String = "SPK1", version: UInt16 = 0x0100, flags: UInt16 = 0, stream: UInt32 = 1, count: UInt32,
    seq: UInt64, first: UInt64, h: UInt32, w: UInt32, rate: Double = 20_000
) -> [UInt8] {
    Array(magic.utf8) + le(version) + le(flags) + le(stream) + le(count) + le(seq) + le(first) + le(h) + le(w)
        + le(rate.bitPattern)
}

/// An RGB header assembled field by field from the documented layout.
func rgbHeaderBytes(
    version: UInt16 = 0x0100, format: UInt8 = 0, stream: UInt32 = 1, w: UInt32, h: UInt32, seq: UInt64 = 0,
    frame: UInt64 = 0,
    start: Int64 = 0, end: Int64 = 1, length: UInt64
) -> [UInt8] {
    Array("RGB1".utf8) + le(version) + [format, 0] + le(stream) + le(w) + le(h) + le(UInt32(0)) + le(seq)
        + le(frame) + le(start) + le(end) + le(length)
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

@Suite struct SpikeMessageTests {
    @Test(arguments: [(1, 8, 1), (3, 4, 6), (100, 25, 40), (7, 250, 400)])
    func roundTrip(frames: Int, height: Int, width: Int) throws {
        var rng = SplitMix(state: UInt64(frames * 1000 + height))
        let g = try SpikeGeometry(height: height, width: width)
        let packed = try PackedSpikeFrames(geometry: g, bytes: rng.bytes(frames * g.bytesPerFrame))
        let seq = rng.next()
        let first = rng.next() >> 12  // within SpikeHeader.maximumFrameIndex (2^52)
        let message = SpikeMessage(
            frames: packed, sequence: seq, firstFrameIndex: first, spikeRateHz: 40_000, streamID: 9,
            flags: .endOfStream)
        let parts = message.encoded()
        #expect(parts.count == 2)
        #expect(parts[0].count == SpikeHeader.size)
        #expect(parts[1].count == frames * height * width / 8)
        let decoded = try SpikeMessage(parts: parts)
        #expect(decoded == message)
        #expect(decoded.frames.count == frames)
        #expect(decoded.frameRange == first..<first + UInt64(frames))
        #expect(decoded.header.flags.contains(.endOfStream))
    }

    @Test func headerBytesFollowTheDocumentedLayout() throws {
        let g = try SpikeGeometry(height: 2, width: 4)
        let m = SpikeMessage(
            frames: try PackedSpikeFrames(geometry: g, bytes: [0xAB, 0xCD, 0xEF]), sequence: 0x0102_0304_0506_0708,
            firstFrameIndex: 77, spikeRateHz: 20_000, streamID: 0xDEAD_BEEF)
        let expected = spikeHeaderBytes(
            stream: 0xDEAD_BEEF, count: 3, seq: 0x0102_0304_0506_0708, first: 77, h: 2, w: 4, rate: 20_000)
        #expect(m.encoded()[0] == expected)
        #expect(Array(m.encoded()[0][16..<24]) == [8, 7, 6, 5, 4, 3, 2, 1])
    }

    @Test func newerMinorVersionAndLongerHeaderAreAccepted() throws {
        let header = spikeHeaderBytes(version: 0x0107, count: 1, seq: 5, first: 0, h: 2, w: 4) + [1, 2, 3, 4]
        let m = try SpikeMessage(parts: [header, [0x55]])
        #expect(m.header.version == ProtocolVersion(major: 1, minor: 7))
        #expect(m.frames.bytes == [0x55])
    }

    @Test(arguments: [UInt16(0x0000), 0x0200, 0xFF01])
    func otherMajorVersionsAreRefused(version: UInt16) {
        let header = spikeHeaderBytes(version: version, count: 1, seq: 0, first: 0, h: 2, w: 4)
        #expect(
            throws: WireProtocolError.unsupportedVersion(
                magic: "SPK1", found: ProtocolVersion(rawValue: version), supported: .current)
        ) {
            _ = try SpikeMessage(parts: [header, [0]])
        }
    }
}

@Suite struct RGBMessageTests {
    @Test(arguments: PixelFormat.allCases)
    func roundTrip(format: PixelFormat) throws {
        var rng = SplitMix(state: UInt64(format.rawValue) + 1)
        let (w, h) = (5, 3)
        let payload = rng.bytes(format.isRaw ? w * h * 3 : 17)
        let m = RGBMessage(
            pixelFormat: format, width: w, height: h, payload: payload, sequence: 3, frameID: 42,
            exposureStartNanoseconds: -5, exposureEndNanoseconds: 1_000_000, streamID: 2)
        let parts = m.encoded()
        #expect(parts[0].count == RGBHeader.size)
        let expected = rgbHeaderBytes(
            format: format.rawValue, stream: 2, w: 5, h: 3, seq: 3, frame: 42, start: -5, end: 1_000_000,
            length: UInt64(payload.count))
        #expect(parts[0] == expected)
        #expect(try RGBMessage(parts: parts) == m)
    }
}

/// One message of each malformed kind, built from raw bytes.
func malformedParts(_ kind: MalformedKind) -> [[UInt8]] {
    let good = spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4)
    switch kind {
    case .wrongPartCount: return [good]
    case .shortHeader: return [Array(good[0..<20]), [0]]
    case .badMagic: return [Array("SPKX".utf8) + good[4...], [0]]
    case .invalidGeometry: return [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 3, w: 3), [0, 0]]
    case .zeroFrames: return [spikeHeaderBytes(count: 0, seq: 0, first: 0, h: 2, w: 4), []]
    case .packedSizeMismatch: return [spikeHeaderBytes(count: 2, seq: 0, first: 0, h: 2, w: 4), [0]]
    case .invalidSpikeRate: return [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4, rate: .nan), [0]]
    case .payloadLengthMismatch: return [rgbHeaderBytes(w: 2, h: 2, length: 12), [UInt8](repeating: 0, count: 11)]
    case .emptyPayload: return [rgbHeaderBytes(format: 2, w: 2, h: 2, length: 0), []]
    case .unknownPixelFormat:
        return [rgbHeaderBytes(format: 4, w: 2, h: 2, length: 12), [UInt8](repeating: 0, count: 12)]
    case .invalidExposure:
        return [rgbHeaderBytes(w: 2, h: 2, start: 10, end: 9, length: 12), [UInt8](repeating: 0, count: 12)]
    case .frameIndexOutOfRange:
        return [spikeHeaderBytes(count: 1, seq: 0, first: UInt64.max - 1, h: 2, w: 4), [0]]
    case .streamChanged:
        // After `streamPrimer` (stream 1, 2x4): the same stream id with another geometry.
        return [spikeHeaderBytes(count: 1, seq: 1, first: 1, h: 4, w: 4), [0, 0]]
    }
}

/// A valid message of stream 1 (2x4 at 20 kHz) that `.streamChanged` needs before it.
let streamPrimer = [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4), [0]]

@Suite struct MalformedTests {
    @Test(arguments: MalformedKind.allCases)
    func everyKindIsDetectedCountedAndSkipped(kind: MalformedKind) throws {
        var decoder = StreamDecoder()
        if kind == .streamChanged { _ = decoder.decode(streamPrimer) }
        for round in 0..<2 {
            let outcome = decoder.decode(malformedParts(kind))
            guard case .malformed(.malformed(let found, let detail), let first) = outcome else {
                Issue.record("expected malformed \(kind), got \(outcome)")
                return
            }
            #expect(found == kind)
            #expect(first == (round == 0))
            #expect(!detail.isEmpty)
        }
        #expect(decoder.counters.malformed == [kind: 2])
        #expect(decoder.counters.malformedTotal == 2)
        // The stream goes on after malformed input.
        let g = try SpikeGeometry(height: 2, width: 4)
        let ok = SpikeMessage(
            frames: try PackedSpikeFrames(geometry: g, bytes: [1]), sequence: 0, firstFrameIndex: 0, spikeRateHz: 1)
        guard case .spikes = decoder.decode(ok.encoded()) else {
            Issue.record("a good message after malformed ones was not delivered")
            return
        }
        #expect(decoder.counters.spikeFrames == (kind == .streamChanged ? 2 : 1))
    }

    @Test func truncatedAndEmptyInputNeverCrash() {
        var decoder = StreamDecoder()
        let good = spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4)
        for n in 0..<good.count { _ = decoder.decode([Array(good[0..<n]), [0]]) }
        _ = decoder.decode([])
        _ = decoder.decode([[], []])
        #expect(decoder.counters.received == UInt64(good.count) + 2)
        #expect(decoder.counters.spikeMessages == 0)
        #expect(decoder.counters.malformedTotal == UInt64(good.count) + 2)
    }

    @Test func unsupportedVersionIsCountedSeparately() {
        var decoder = StreamDecoder()
        let header = spikeHeaderBytes(version: 0x0200, count: 1, seq: 0, first: 0, h: 2, w: 4)
        guard case .unsupportedVersion(_, let first) = decoder.decode([header, [0]]) else {
            Issue.record("expected unsupportedVersion")
            return
        }
        #expect(first)
        #expect(decoder.counters.unsupportedVersion == 1)
        #expect(decoder.counters.malformedTotal == 0)
    }
}

@Suite struct SequenceTrackerTests {
    @Test func contiguousStreamHasNoLoss() {
        var t = SequenceTracker()
        for s in UInt64(0)..<10 {
            #expect(t.observe(streamID: 1, sequence: s, frames: s * 100..<(s + 1) * 100) == .accepted(.none))
        }
        #expect(t.counters.accepted == 10)
        #expect(t.counters.lostFrames == 0 && t.counters.lostMessages == 0)
    }

    @Test(arguments: [(UInt64(1), UInt64(10)), (3, 10), (1, 1), (50, 100)])
    func gapsCountLostMessagesAndFrames(skipped: UInt64, batch: UInt64) {
        var t = SequenceTracker()
        _ = t.observe(streamID: 1, sequence: 0, frames: 0..<batch)
        let next = 1 + skipped
        let verdict = t.observe(streamID: 1, sequence: next, frames: next * batch..<(next + 1) * batch)
        #expect(verdict == .accepted(.init(lostMessages: skipped, lostFrames: skipped * batch, resynced: true)))
        // The tracker resynced: the following message is clean.
        #expect(
            t.observe(streamID: 1, sequence: next + 1, frames: (next + 1) * batch..<(next + 2) * batch)
                == .accepted(.none))
        #expect(t.counters.lostMessages == skipped && t.counters.lostFrames == skipped * batch)
    }

    @Test func duplicatesAndReorderedAreSkipped() {
        var t = SequenceTracker()
        _ = t.observe(streamID: 1, sequence: 0, frames: 0..<10)
        _ = t.observe(streamID: 1, sequence: 2, frames: 20..<30)
        #expect(t.observe(streamID: 1, sequence: 2, frames: 20..<30) == .duplicate)
        #expect(t.observe(streamID: 1, sequence: 1, frames: 10..<20) == .stale)
        #expect(t.observe(streamID: 1, sequence: 3, frames: 30..<40) == .accepted(.none))
        #expect(t.counters.duplicates == 1 && t.counters.stale == 1 && t.counters.lostMessages == 1)
    }

    @Test func frameIndexDiscontinuitiesResync() {
        var t = SequenceTracker()
        _ = t.observe(streamID: 1, sequence: 0, frames: 0..<10)
        // Sequence contiguous, frames jump ahead: frames lost.
        #expect(
            t.observe(streamID: 1, sequence: 1, frames: 15..<25)
                == .accepted(.init(lostMessages: 0, lostFrames: 5, resynced: true)))
        // Frames rewind: a discontinuity.
        #expect(
            t.observe(streamID: 1, sequence: 2, frames: 0..<10)
                == .accepted(.init(lostMessages: 0, lostFrames: 0, resynced: true)))
        #expect(t.observe(streamID: 1, sequence: 3, frames: 10..<20) == .accepted(.none))
        #expect(t.counters.discontinuities == 1 && t.counters.lostFrames == 5)
    }

    @Test func restartsAreAcceptedNotStalled() {
        var t = SequenceTracker(restartWindow: 16)
        _ = t.observe(streamID: 1, sequence: 1000, frames: 0..<10)
        // Same stream id, far behind: a restarted publisher.
        #expect(
            t.observe(streamID: 1, sequence: 0, frames: 0..<10)
                == .accepted(.init(lostMessages: 0, lostFrames: 0, resynced: true)))
        #expect(t.observe(streamID: 1, sequence: 1, frames: 10..<20) == .accepted(.none))
        // New stream id.
        #expect(
            t.observe(streamID: 2, sequence: 7, frames: 5..<6)
                == .accepted(.init(lostMessages: 0, lostFrames: 0, resynced: true)))
        #expect(t.counters.restarts == 2)
    }

    @Test func rgbStreamIsTrackedApartFromSpikes() throws {
        var decoder = StreamDecoder()
        let payload = [UInt8](repeating: 1, count: 12)
        for seq in [UInt64(0), 1, 3, 3, 2] {
            let m = RGBMessage(
                pixelFormat: .rgb8, width: 2, height: 2, payload: payload, sequence: seq, frameID: seq,
                exposureStartNanoseconds: 0, exposureEndNanoseconds: 1)
            _ = decoder.decode(m.encoded())
        }
        let c = decoder.counters
        #expect(c.rgbMessages == 3)
        #expect(c.rgbSequence.lostMessages == 1 && c.rgbSequence.duplicates == 1 && c.rgbSequence.stale == 1)
        #expect(c.spikeSequence == SequenceTracker.Counters())
    }
}

@Suite struct StreamReceiverTests {
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ s: String) { entries.withLock { $0.append(s) } }
    }

    @Test func callbacksCountersAndEndOfStream() throws {
        let log = Log()
        let receiver = StreamReceiver(
            onSpikes: { m, gap in log.add("spikes \(m.header.sequence) lost \(gap.lostFrames)") },
            onRGB: { m, _ in log.add("rgb \(m.header.frameID)") },
            onFirstProblem: { e in log.add("problem \(e)") })
        let g = try SpikeGeometry(height: 2, width: 4)
        func spikes(_ seq: UInt64, end: Bool = false) throws -> [[UInt8]] {
            SpikeMessage(
                frames: try PackedSpikeFrames(geometry: g, bytes: [1, 2]), sequence: seq, firstFrameIndex: seq * 2,
                spikeRateHz: 1000, flags: end ? .endOfStream : []
            ).encoded()
        }
        #expect(!receiver.handle(try spikes(0)))
        #expect(!receiver.handle(malformedParts(.badMagic)))
        #expect(!receiver.handle(malformedParts(.badMagic)))
        let rgb = RGBMessage(
            pixelFormat: .png, width: 1, height: 1, payload: [1], sequence: 0, frameID: 8,
            exposureStartNanoseconds: 0, exposureEndNanoseconds: 0)
        #expect(!receiver.handle(rgb.encoded()))
        #expect(!receiver.handle(try spikes(0)))
        #expect(receiver.handle(try spikes(2, end: true)))
        let entries = log.entries.withLock { $0 }
        #expect(entries.count == 4)
        #expect(entries[0] == "spikes 0 lost 0")
        #expect(entries[1].hasPrefix("problem") && entries[1].contains("badMagic"))
        #expect(entries[2] == "rgb 8")
        #expect(entries[3] == "spikes 2 lost 2")
        let c = receiver.counters
        #expect(c.received == 6 && c.duplicates == 1 && c.malformed[.badMagic] == 2 && c.lostFrames == 2)
        #expect(c.description.contains("badMagic=2"))
    }
}

/// Extreme header values: each is refused (or accepted) with a count, never a trap.
@Suite struct ExtremeHeaderTests {
    @Test func extremeSpikeHeadersAreMalformedNotTraps() {
        var decoder = StreamDecoder()
        let cases: [(MalformedKind, [[UInt8]])] = [
            (.invalidGeometry, [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: .max, w: .max), [0]]),
            (.invalidGeometry, [spikeHeaderBytes(count: .max, seq: 0, first: 0, h: 1 << 20, w: 1 << 20), [0]]),
            (.invalidGeometry, [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 1 << 31, w: 8), [0]]),
            (.packedSizeMismatch, [spikeHeaderBytes(count: .max, seq: 0, first: 0, h: 65_536, w: 65_536), [0]]),
            (.frameIndexOutOfRange, [spikeHeaderBytes(count: 1, seq: 0, first: 1 << 63, h: 2, w: 4), [0]]),
            (.frameIndexOutOfRange, [spikeHeaderBytes(count: 1, seq: 0, first: .max, h: 2, w: 4), [0]]),
            (.invalidSpikeRate, [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4, rate: .infinity), [0]]),
            (.invalidSpikeRate, [spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4, rate: 1e300), [0]]),
        ]
        for (kind, parts) in cases {
            guard case .malformed(.malformed(let found, _), _) = decoder.decode(parts) else {
                Issue.record("expected \(kind) for \(parts[0])")
                continue
            }
            #expect(found == kind)
        }
        #expect(decoder.counters.malformedTotal == UInt64(cases.count))
    }

    @Test func extremeRGBHeadersAreMalformedNotTraps() {
        var decoder = StreamDecoder()
        let px = [UInt8](repeating: 0, count: 12)
        let cases: [(MalformedKind, [[UInt8]])] = [
            (.invalidGeometry, [rgbHeaderBytes(w: .max, h: .max, length: 12), px]),
            (.invalidGeometry, [rgbHeaderBytes(format: 3, w: 60_000, h: 60_000, length: 12), px]),
            (.invalidExposure, [rgbHeaderBytes(w: 2, h: 2, start: .min, end: .max, length: 12), px]),
            (.invalidExposure, [rgbHeaderBytes(w: 2, h: 2, start: 0, end: .max, length: 12), px]),
            (.invalidExposure, [rgbHeaderBytes(w: 2, h: 2, start: .min, end: 0, length: 12), px]),
        ]
        for (kind, parts) in cases {
            guard case .malformed(.malformed(let found, _), _) = decoder.decode(parts) else {
                Issue.record("expected \(kind)")
                continue
            }
            #expect(found == kind)
        }
        // The largest accepted times still have a midpoint and a duration.
        let edge = RGBHeader.maximumExposureMagnitude
        guard
            case .rgb(let m, _) = decoder.decode([rgbHeaderBytes(w: 2, h: 2, start: -edge, end: edge, length: 12), px])
        else {
            Issue.record("the widest valid exposure was refused")
            return
        }
        #expect(m.header.exposureEndNanoseconds == edge)
    }

    @Test func sequenceJumpsToTheMaximumSaturateTheCounters() {
        var tracker = SequenceTracker()
        _ = tracker.observe(streamID: 1, sequence: 0)
        _ = tracker.observe(streamID: 1, sequence: .max)
        // Back to normal numbers: a restart, then another jump.
        _ = tracker.observe(streamID: 1, sequence: 1)
        _ = tracker.observe(streamID: 1, sequence: .max)
        #expect(tracker.counters.lostMessages == .max)
        #expect(tracker.counters.restarts == 1)
        var decoder = StreamDecoder()
        for seq: UInt64 in [0, .max, 0, .max] {
            _ = decoder.decode([rgbHeaderBytes(w: 1, h: 1, seq: seq, length: 3), [0, 0, 0]])
            _ = decoder.decode([spikeHeaderBytes(count: 1, seq: seq, first: 0, h: 2, w: 4), [0]])
        }
        #expect(decoder.counters.lostMessages == .max)
    }

    @Test func aStreamKeepsItsGeometryAndRateUntilANewStreamID() {
        var decoder = StreamDecoder()
        #expect(isSpikes(decoder.decode([spikeHeaderBytes(count: 1, seq: 0, first: 0, h: 2, w: 4), [0]])))
        // Same stream, other geometry or rate: refused.
        #expect(!isSpikes(decoder.decode([spikeHeaderBytes(count: 1, seq: 1, first: 1, h: 4, w: 4), [0, 0]])))
        #expect(
            !isSpikes(decoder.decode([spikeHeaderBytes(count: 1, seq: 2, first: 1, h: 2, w: 4, rate: 40_000), [0]])))
        // The stream itself goes on.
        #expect(isSpikes(decoder.decode([spikeHeaderBytes(count: 1, seq: 3, first: 1, h: 2, w: 4), [0]])))
        // A new stream id may change both.
        #expect(
            isSpikes(
                decoder.decode([
                    spikeHeaderBytes(stream: 2, count: 1, seq: 0, first: 0, h: 4, w: 4, rate: 40_000), [0, 0],
                ])
            ))
        #expect(decoder.counters.malformed[.streamChanged] == 2)
    }

    private func isSpikes(_ o: StreamDecoder.Outcome) -> Bool {
        if case .spikes = o { return true }
        return false
    }
}

/// A bounded fuzz run of the wire decoder: random messages and mutations of valid ones.
/// `tools/fuzz` runs the same loop longer (`FUZZ_ITERATIONS`).
@Suite struct WireFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? 10_000
    }

    @Test func randomAndMutatedMessagesNeverTrap() throws {
        var rng = SplitMix(state: 0x5EED)
        var decoder = StreamDecoder()
        let g = try SpikeGeometry(height: 4, width: 8)
        let seeds: [[[UInt8]]] = [
            SpikeMessage(
                frames: try PackedSpikeFrames(geometry: g, bytes: [UInt8](repeating: 0xA5, count: 8)), sequence: 0,
                firstFrameIndex: 0, spikeRateHz: 20_000
            ).encoded(),
            RGBMessage(
                pixelFormat: .rgb8, width: 2, height: 2, payload: [UInt8](repeating: 9, count: 12), sequence: 0,
                frameID: 0, exposureStartNanoseconds: 0, exposureEndNanoseconds: 100
            ).encoded(),
        ]
        var outcomes = [String: Int]()
        for i in 0..<Self.iterations {
            var parts = seeds[i % 2]
            switch rng.next() % 4 {
            case 0:
                // Flip random bytes of the header.
                for _ in 0...(rng.next() % 4) {
                    let k = Int(rng.next() % UInt64(parts[0].count))
                    parts[0][k] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 1:
                // An extreme value in a random 8-byte-aligned field.
                let k = 8 + Int(rng.next() % UInt64((parts[0].count - 8) / 4)) * 4
                let v: UInt64 = [0, 1, .max, .max - 1, 1 << 63, 1 << 32, (1 << 32) - 1][Int(rng.next() % 7)]
                for b in 0..<min(8, parts[0].count - k) { parts[0][k + b] = UInt8(truncatingIfNeeded: v >> (8 * b)) }
            case 2:
                // Truncate or extend a part, or change the part count.
                switch rng.next() % 3 {
                case 0: parts[Int(rng.next() % 2)].removeLast(Int(rng.next() % 8))
                case 1: parts[1] += rng.bytes(Int(rng.next() % 16))
                default: parts = Array(parts.prefix(Int(rng.next() % 3))) + (rng.next() % 2 == 0 ? [[1]] : [])
                }
            default:
                parts = [rng.bytes(Int(rng.next() % 80)), rng.bytes(Int(rng.next() % 40))]
                if rng.next() % 2 == 0 {
                    parts[0].replaceSubrange(0..<min(4, parts[0].count), with: Array("SPK1".utf8))
                }
            }
            let outcome = decoder.decode(parts)
            let name: String
            switch outcome {
            case .spikes(let m, _):
                // Whatever is delivered is consistent.
                #expect(m.frames.count == Int(m.header.frameCount))
                #expect(m.header.firstFrameIndex <= SpikeHeader.maximumFrameIndex)
                name = "spikes"
            case .rgb(let m, _):
                #expect(m.payload.count == Int(m.header.payloadLength))
                #expect(m.header.exposureStartNanoseconds <= m.header.exposureEndNanoseconds)
                name = "rgb"
            case .malformed: name = "malformed"
            case .unsupportedVersion: name = "unsupported"
            case .duplicate, .stale: name = "skipped"
            }
            outcomes[name, default: 0] += 1
        }
        #expect(decoder.counters.received == UInt64(Self.iterations))
        // Both delivery and refusal were exercised.
        #expect(outcomes["malformed", default: 0] > Self.iterations / 4)
        #expect(outcomes["spikes", default: 0] + outcomes["rgb", default: 0] > 0)
        print("fuzz wire: \(Self.iterations) inputs, \(outcomes), no trap")
    }
}
