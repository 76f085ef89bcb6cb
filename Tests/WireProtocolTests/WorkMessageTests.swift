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
}
