import SpikeCore
import Testing

@testable import WireProtocol

@Suite struct WorkMessageTests {
    static func sample() throws -> [WorkMessage] {
        let g = try SpikeGeometry(height: 2, width: 4)
        let spikes = try PackedSpikeFrames(geometry: g, bytes: [1, 2, 3])
        let planes = FloatPlanes(channels: 3, height: 4, width: 8, values: (0..<96).map { Float($0) / 7 })
        let recon = FloatPlanes(channels: 1, height: 4, width: 8, values: (0..<32).map { -Float($0) })
        return [
            .ready(
                WorkerIdentity(model: "spkdeblurnet/compact48", weightsSHA256: "ab12", precision: "bf16"), credit: 3),
            .heartbeat,
            .job(id: 7, blur: planes, spikes: spikes, tfi: (0..<8).map(Float.init)),
            .result(id: 9, sharp: planes, spikeRecon: recon, quickSharp: nil),
            .failed(id: 4, reason: "out of memory"),
            .refused(reason: "wrong model"),
        ]
    }

    @Test func everyKindRoundTrips() throws {
        for m in try Self.sample() { #expect(try WorkMessage(parts: m.encoded()) == m) }
    }

    @Test func mutatedWorkMessagesNeverTrap() throws {
        var rng = SplitMix(state: 77)
        let seeds = try Self.sample().map { $0.encoded() }
        var refused = 0
        for i in 0..<5000 {
            var parts = seeds[i % seeds.count]
            let p = Int(rng.next() % UInt64(parts.count))
            if !parts[p].isEmpty {
                for _ in 0...(rng.next() % 3) {
                    let k = Int(rng.next() % UInt64(parts[p].count))
                    parts[p][k] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            if rng.next() % 5 == 0 { parts[p].removeLast(Int(rng.next() % UInt64(parts[p].count + 1))) }
            if rng.next() % 7 == 0 { parts.removeLast() }
            do { _ = try WorkMessage(parts: parts) } catch { refused += 1 }
        }
        #expect(refused > 1000)
    }

    @Test func extremeShapesAreRefused() {
        var bad = [UInt8]()
        for v: UInt32 in [3, .max, .max] { withUnsafeBytes(of: v.littleEndian) { bad += $0 } }
        let header = WorkMessage.heartbeat.encoded()[0]
        var result = header
        result[6] = 4  // kind: result
        #expect(throws: WireProtocolError.self) { try WorkMessage(parts: [result, bad, [], []]) }
    }

    /// 3 x 500 x 800 values with every kind of bit pattern (NaN payloads included), so that a
    /// comparison of bit patterns catches any value changed on the way.
    static func bigPlanes(channels: Int = 3) -> FloatPlanes {
        let n = channels * 500 * 800
        return FloatPlanes(
            channels: channels, height: 500, width: 800,
            values: (0..<n).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) })
    }

    @Test func a500x800ResultRoundTripsBitForBit() throws {
        let sharp = Self.bigPlanes(), recon = Self.bigPlanes(channels: 1)
        let parts = WorkMessage.result(id: 5, sharp: sharp, spikeRecon: recon, quickSharp: nil).encoded()
        // The wire layout itself: shape, then little-endian float32 in order.
        #expect(parts[1].count == 12 + 4 * 1_200_000)
        #expect(Array(parts[1][0..<12]) == [3, 0, 0, 0, 244, 1, 0, 0, 32, 3, 0, 0])
        let k = 123_457
        let bits = sharp.values[k].bitPattern
        #expect(
            Array(parts[1][(12 + 4 * k)..<(16 + 4 * k)])
                == [UInt8(bits & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits >> 16 & 0xff), UInt8(bits >> 24)])
        // Encoding straight from storage gives the same bytes.
        let direct = sharp.values.withUnsafeBufferPointer {
            WorkMessage.resultParts(
                id: 5, sharp: EncodedPlanes(channels: 3, height: 500, width: 800, values: $0),
                spikeRecon: EncodedPlanes(recon), quickSharp: nil)
        }
        #expect(direct == parts)
        guard case .result(5, let got, let gotRecon?, nil) = try WorkMessage(parts: parts) else {
            Issue.record("not a result with a spike reconstruction")
            return
        }
        #expect(got.values.map(\.bitPattern) == sharp.values.map(\.bitPattern))
        #expect(gotRecon.values.map(\.bitPattern) == recon.values.map(\.bitPattern))
        // The view checks the same and copies the same values into the caller's storage.
        let view = try #require(try WorkMessage.resultView(parts: parts))
        #expect(view.id == 5 && view.quickSharp == nil && view.spikeRecon?.count == 400_000)
        var copied = [Float](repeating: 0, count: view.sharp.count)
        copied.withUnsafeMutableBufferPointer { view.sharp.copyValues(into: $0) }
        #expect(copied.map(\.bitPattern) == sharp.values.map(\.bitPattern))
    }

    @Test func a500x800JobRoundTrips() throws {
        let g = try SpikeGeometry(height: 250, width: 400)
        let spikes = try PackedSpikeFrames(
            geometry: g, bytes: (0..<(56 * g.bytesPerFrame)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let tfi = (0..<100_000).map { Float($0) / 3 }
        // No NaN here: the message is compared with ==.
        let blur = FloatPlanes(
            channels: 3, height: 500, width: 800, values: (0..<1_200_000).map { Float($0 % 4099) / 7 - 100 })
        let job = WorkMessage.job(id: 11, blur: blur, spikes: spikes, tfi: tfi)
        let parts = job.encoded()
        #expect(parts.map(\.count) == [16, 12 + 4_800_000, 12 + 56 * 12_500, 400_000])
        #expect(try WorkMessage(parts: parts) == job)
        #expect(try WorkMessage.resultView(parts: parts) == nil)
    }

    /// Bytes at a fixed address, as a transport's kept receive buffer holds them.
    final class Pinned: WireBytes, @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let count: Int
        let offset: Int
        /// `bytes` copied to `offset` bytes past a 64-byte aligned allocation.
        init(_ bytes: [UInt8], offset: Int = 0) {
            (count, self.offset) = (bytes.count, offset)
            base = .allocate(byteCount: bytes.count + offset, alignment: 64)
            bytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        deinit { base.deallocate() }
        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try body(UnsafeRawBufferPointer(start: base + offset, count: count))
        }
        var pinned: (bytes: UnsafeRawBufferPointer, owner: AnyObject & Sendable)? {
            (UnsafeRawBufferPointer(start: base + offset, count: count), self)
        }
    }

    /// A result held where it was received is checked as an array is, and its values are read
    /// in place: no copy, the pointer is into the received bytes (unless misaligned for floats).
    @Test func aPinnedResultIsCheckedAndReadInPlace() throws {
        let sharp = Self.bigPlanes()
        let parts = WorkMessage.result(id: 8, sharp: sharp, spikeRecon: nil, quickSharp: nil).encoded()
        let pinned = parts.map { Pinned($0) }
        let view = try #require(try WorkMessage.resultView(parts: pinned))
        #expect(view.id == 8 && view.sharp.count == 1_200_000 && view.spikeRecon == nil)
        let (values, owner) = try #require(view.sharp.valuesInPlace)
        let sameOwner = ObjectIdentifier(owner) == ObjectIdentifier(pinned[1])
        #expect(sameOwner)
        #expect(UnsafeRawPointer(values.baseAddress) == UnsafeRawPointer(pinned[1].base + 12))
        #expect(values.map(\.bitPattern) == sharp.values.map(\.bitPattern))
        // Arrays are never used in place; a part whose floats would be misaligned is copied.
        #expect(try WorkMessage.resultView(parts: parts)?.sharp.valuesInPlace == nil)
        let odd = parts.map { Pinned($0, offset: 1) }
        let oddView = try #require(try WorkMessage.resultView(parts: odd))
        #expect(oddView.sharp.valuesInPlace == nil)
        #expect(oddView.sharp.planes.values.map(\.bitPattern) == sharp.values.map(\.bitPattern))
        // Pinned parts are refused for the same faults, with the same errors.
        var short = parts
        short[1].removeLast()
        let error = #expect(throws: WireProtocolError.self) {
            try WorkMessage.resultView(parts: short.map { Pinned($0) })
        }
        #expect(error.map { "\($0)".contains("result sharp is 4800011 bytes") } == true)
    }

    /// A job whose blur part the caller provides (shape then values, e.g. lent from storage)
    /// is the same message as the encoded one.
    @Test func aJobWithTheCallersBlurPartIsTheSameMessage() throws {
        let g = try SpikeGeometry(height: 4, width: 8)
        let spikes = try PackedSpikeFrames(geometry: g, bytes: (0..<(3 * g.bytesPerFrame)).map { UInt8($0) })
        let blur = FloatPlanes(channels: 3, height: 8, width: 16, values: (0..<384).map { Float($0) / 3 })
        let tfi = (0..<32).map { Float($0) }
        let job = WorkMessage.job(id: 4, blur: blur, spikes: spikes, tfi: tfi)
        let own = EncodedPlanes.shape(channels: 3, height: 8, width: 16) + EncodedPlanes(blur).bytes.dropFirst(12)
        let parts = WorkMessage.jobParts(id: 4, blur: own, spikes: spikes, tfi: tfi) { $0 }
        #expect(parts == job.encoded())
        #expect(try WorkMessage(parts: parts) == job)
    }

    @Test func aResultShorterThanItsShapeIsRefusedNamingTheField() throws {
        var parts = WorkMessage.result(id: 2, sharp: Self.bigPlanes(), spikeRecon: nil, quickSharp: nil).encoded()
        parts[1].removeLast()
        for decode in [{ _ = try WorkMessage(parts: parts) }, { _ = try WorkMessage.resultView(parts: parts) }] {
            let error = #expect(throws: WireProtocolError.self) { try decode() }
            #expect(
                error.map { "\($0)".contains("result sharp is 4800011 bytes, expected 12 + 4 x 3x500x800") } == true)
        }
        // A shape whose value count is beyond the limit is refused before anything is read.
        var huge = [UInt8]()
        for v: UInt32 in [16, 65_536, 65_536] { withUnsafeBytes(of: v.littleEndian) { huge += $0 } }
        parts[1] = huge
        let error = #expect(throws: WireProtocolError.self) { try WorkMessage.resultView(parts: parts) }
        #expect(error.map { "\($0)".contains("result sharp shape 16x65536x65536 is out of range") } == true)
    }
}
