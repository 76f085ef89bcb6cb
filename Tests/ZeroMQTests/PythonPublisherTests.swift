import Foundation
import SpikeCore
import Synchronization
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// Runs tools/zmq_publisher.py (pyzmq) as the peer of a Swift receiver.
enum PythonPublisher {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = root.appendingPathComponent("tools/zmq_publisher.py").path

    /// Whether python3 with pyzmq and numpy is installed.
    static let available: Bool = {
        guard let r = try? run(["-c", "import zmq, numpy"]) else { return false }
        return r.status == 0
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let r = try Python.process(arguments)
        return Result(status: r.status, stdout: r.out, stderr: r.err)
    }

    /// Publishes and returns the publisher's JSON summary.
    static func publish(_ arguments: [String]) throws -> [String: Double] {
        let r = try run([script] + arguments)
        guard r.status == 0 else {
            Issue.record("zmq_publisher.py exited \(r.status): \(r.stderr)")
            return [:]
        }
        let data = Data(r.stdout.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return json.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    /// Messages the publisher put on the wire, from its summary.
    static func messagesSent(_ stats: [String: Double]) -> Int {
        Int(
            ["spike_messages", "swapped", "duplicated", "malformed", "rgb_messages"].reduce(0) { $0 + (stats[$1] ?? 0) }
        )
    }
}

/// A Swift receiver that decodes everything it gets.
final class DecodingReceiver: Sendable {
    struct State {
        var decoder = StreamDecoder()
        var spikeBytes: [UInt8] = []
        var rgb: [RGBMessage] = []
        var endOfStreamSequences: [UInt64] = []
    }

    /// What the loop thread writes and the test reads.
    final class Sink: Sendable {
        let state = Mutex(State())

        func handle(_ message: Message) {
            state.withLock { s in
                switch s.decoder.decode(message.parts) {
                case .spikes(let m, _):
                    s.spikeBytes += m.frames.bytes
                    if m.header.flags.contains(.endOfStream) { s.endOfStreamSequences.append(m.header.sequence) }
                case .rgb(let m, _): s.rgb.append(m)
                default: break
                }
            }
        }
    }

    let sink = Sink()
    let loop: ReceiveLoop

    init(context: Context, configuration: ReceiveLoop.Configuration) throws {
        let sink = sink
        loop = try ReceiveLoop(context: context, configuration: configuration) { message in
            sink.handle(message)
            return .continue
        }
    }

    /// Waits until `count` messages were received (or 10 s passed), then stops the loop.
    func finish(expecting count: Int) -> StreamDecoder.Counters {
        let deadline = ContinuousClock.now + .seconds(10)
        while sink.state.withLock({ $0.decoder.counters.received }) < UInt64(count) && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        loop.stop()
        return sink.state.withLock { $0.decoder.counters }
    }
}

@Suite(.serialized, .enabled(if: PythonPublisher.available, "python3 with pyzmq and numpy is not installed"))
struct PythonPublisherTests {
    let context: Context

    init() throws { context = try Context() }

    func pullReceiver() throws -> DecodingReceiver {
        try DecodingReceiver(context: context, configuration: .init(attach: .bind("tcp://127.0.0.1:*")))
    }

    @Test(arguments: [1, 7, 100])
    func datFileArrivesWithoutLoss(batch: Int) throws {
        let (h, w, frames) = (20, 40, 500)
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<(frames * h * w / 8)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zmq-\(UUID().uuidString).dat")
        try Data(bytes).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }

        let receiver = try pullReceiver()
        let stats = try PythonPublisher.publish([
            "--endpoint", receiver.loop.endpoint, "--dat", path.path, "--height", "\(h)", "--width", "\(w)",
            "--batch", "\(batch)", "--rgb-every", "100",
        ])
        let c = receiver.finish(expecting: PythonPublisher.messagesSent(stats))
        #expect(c.spikeFrames == UInt64(frames))
        #expect(c.spikeMessages == UInt64((frames + batch - 1) / batch))
        #expect(c.lostFrames == 0 && c.lostMessages == 0 && c.malformedTotal == 0)
        let got = receiver.sink.state.withLock { $0 }
        #expect(got.spikeBytes == bytes)
        #expect(got.endOfStreamSequences == [UInt64((frames + batch - 1) / batch - 1)])
        #expect(got.rgb.count == 5)
        for (k, m) in got.rgb.enumerated() {
            #expect(m.header.exposureStartNanoseconds == Int64(k * 100) * 50_000)  // 1e9 / 20 kHz = 50 us
            #expect(m.header.exposureEndNanoseconds == Int64((k + 1) * 100) * 50_000)
            #expect(m.payload.count == h * w * 3)
        }
    }

    @Test func injectedGapsAreCountedAsLoss() throws {
        let receiver = try pullReceiver()
        let stats = try PythonPublisher.publish([
            "--endpoint", receiver.loop.endpoint, "--synthetic", "200", "--height", "8", "--width", "16",
            "--batch", "10", "--drop", "2,5",
        ])
        let c = receiver.finish(expecting: PythonPublisher.messagesSent(stats))
        #expect(stats["dropped_frames"] == 20)
        #expect(c.lostMessages == 2)
        #expect(c.lostFrames == 20)
        #expect(c.spikeFrames == 180)
    }

    @Test func reorderedAndDuplicatedMessagesAreSkipped() throws {
        let receiver = try pullReceiver()
        let stats = try PythonPublisher.publish([
            "--endpoint", receiver.loop.endpoint, "--synthetic", "200", "--height", "8", "--width", "16",
            "--batch", "10", "--swap", "3", "--duplicate", "6",
        ])
        let c = receiver.finish(expecting: PythonPublisher.messagesSent(stats))
        #expect(c.duplicates == 1)
        #expect(c.stale == 1)
        // Message 3 arrived after 4: counted lost when 4 arrived, skipped when it came late.
        #expect(c.lostMessages == 1 && c.lostFrames == 10)
        #expect(c.spikeFrames == 190)
    }

    @Test func malformedMessagesAreCountedByKindAndSkipped() throws {
        let receiver = try pullReceiver()
        let stats = try PythonPublisher.publish([
            "--endpoint", receiver.loop.endpoint, "--synthetic", "100", "--height", "8", "--width", "16",
            "--batch", "10", "--malformed", "all",
        ])
        let c = receiver.finish(expecting: PythonPublisher.messagesSent(stats))
        for kind in MalformedKind.allCases {
            #expect(c.malformed[kind] == 1, "kind \(kind)")
        }
        #expect(c.unsupportedVersion == 1)
        #expect(c.spikeFrames == 100 && c.lostFrames == 0)
    }

    @Test func subscriberTakesOnlySpikesFromAPublisher() throws {
        let receiver = try DecodingReceiver(
            context: context,
            configuration: .init(
                socketType: .sub, attach: .bind("tcp://127.0.0.1:*"), subscriptions: [SpikeHeader.magic]))
        let stats = try PythonPublisher.publish([
            "--endpoint", receiver.loop.endpoint, "--socket", "pub", "--warmup", "1.0", "--synthetic", "300",
            "--height", "8", "--width", "16", "--batch", "10", "--rgb-every", "50",
        ])
        #expect(stats["rgb_messages"] == 6)
        let c = receiver.finish(expecting: Int(stats["spike_messages"] ?? 0))
        #expect(c.rgbMessages == 0)
        #expect(c.spikeFrames == 300)
        #expect(c.lostFrames == 0)
    }
}
