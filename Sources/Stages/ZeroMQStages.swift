import Foundation
import Imaging
import Pipeline
import SpikeCore
import WireProtocol
import ZeroMQ

/// Parameters shared by the live ZeroMQ sources.
private let liveParameters: [ParameterSpec] = [
    ParameterSpec("endpoint", .string, "ZeroMQ endpoint, e.g. tcp://127.0.0.1:5555"),
    ParameterSpec(
        "pattern", .choice(["sub", "pull"]), default: .string("sub"),
        "SUB (live, with a high-water mark) or PULL (lossless)"),
    ParameterSpec(
        "attach", .choice(["connect", "bind"]), default: .string("connect"), "connect to or bind the endpoint"),
    ParameterSpec("hwm", .int(1...10_000_000), default: .int(1000), "receive high-water mark, messages"),
    ParameterSpec(
        "idle_timeout_ms", .double(0...86_400_000), default: .double(0),
        "end the stream after this long without messages once data has flowed (0: never; Ctrl-C stops)"),
]

/// Runs a receive loop on its own thread and bridges decoded items into the stage's task.
private func receive<Item: Sendable>(
    _ context: StageContext, parameters p: Parameters, subscription: String,
    decode: @escaping @Sendable (StreamReceiver, AsyncStream<Item>.Continuation) -> StreamReceiver,
    forward: (Item) async -> Void
) async throws {
    let zmq = try Context()
    let stream = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingOldest(4096))
    let receiver = decode(StreamReceiver(), stream.continuation)
    let idle = Duration.milliseconds(Int64(p.double("idle_timeout_ms") ?? 0))
    let endpoint = p.string("endpoint") ?? ""
    let last = LastMessage()
    let config = ReceiveLoop.Configuration(
        socketType: p.string("pattern") == "pull" ? .pull : .sub,
        attach: p.string("attach") == "bind" ? .bind(endpoint) : .connect(endpoint),
        receiveHighWaterMark: p.int("hwm"), subscriptions: [Array(subscription.utf8)], pollInterval: .milliseconds(20))
    let shutdown = context.shutdown
    let loop = try ReceiveLoop(context: zmq, configuration: config) { message in
        last.touch()
        if receiver.handle(message.parts) { return .stop }
        return shutdown.isRequested ? .stop : .continue
    }
    // A watchdog ends the loop on shutdown or idleness (the loop polls every 20 ms).
    let watchdog = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
            if shutdown.isRequested || (idle > .zero && last.idleFor > idle) {
                loop.stop()
                break
            }
        }
    }
    let waiter = Thread {
        loop.wait()
        stream.continuation.finish()
    }
    waiter.start()
    for await item in stream.stream { await forward(item) }
    watchdog.cancel()
    let c = receiver.counters
    context.metrics.count("lost-messages", by: Int(c.lostMessages))
    context.metrics.count("malformed", by: Int(c.malformedTotal))
    context.metrics.count("duplicates", by: Int(c.duplicates + c.stale))
    if let error = loop.error { throw error }
    withExtendedLifetime(zmq) {}
}

/// When the last message arrived (or never).
private final class LastMessage: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `time` is only touched under `lock`.
    private let lock = NSLock()
    private var time: ContinuousClock.Instant?
    func touch() { lock.withLock { time = .now } }
    var idleFor: Duration { lock.withLock { time.map { .now - $0 } ?? .zero } }
}

/// `zmq-spikes`: live spike frames in the wire protocol (docs/protocol.md).
struct ZMQSpikeSource: Stage {
    let parameters: Parameters

    static let kind = StageKind(
        name: "zmq-spikes", summary: "live spike frames from a ZeroMQ socket (docs/protocol.md)",
        parameters: liveParameters, inputs: [], outputs: [PortSpec("frames", Ports.spikes)],
        make: { p, _ in ZMQSpikeSource(parameters: p) })

    func run(_ context: StageContext) async throws {
        try await receive(
            context, parameters: parameters, subscription: "SPK1",
            decode: { receiver, out in
                StreamReceiver(
                    onSpikes: { message, _ in
                        // Lost frames are counted by the receiver; the windowing stage sees the gap.
                        let batch = SpikeBatch(
                            frames: message.frames, firstIndex: Int(message.header.firstFrameIndex), ingestedAt: .zero)
                        if case .dropped = out.yield(batch) { context.metrics.count("dropped-bridge-full") }
                    },
                    onFirstProblem: { error in
                        FileHandle.standardError.write(Data("zmq-spikes: \(error) (further ones are counted)\n".utf8))
                    })
            },
            forward: { (batch: SpikeBatch) in
                var b = batch
                b.ingestedAt = context.clock.now()
                await context.send("frames", b)
            })
    }
}

/// `zmq-rgb`: live RGB frames in the wire protocol (rgb8, bgr8, PNG or JPEG payloads).
struct ZMQRGBSource: Stage {
    let parameters: Parameters

    static let kind = StageKind(
        name: "zmq-rgb", summary: "live RGB frames with exposure times from a ZeroMQ socket (docs/protocol.md)",
        parameters: liveParameters, inputs: [], outputs: [PortSpec("frames", Ports.rgb)],
        make: { p, _ in ZMQRGBSource(parameters: p) })

    func run(_ context: StageContext) async throws {
        try await receive(
            context, parameters: parameters, subscription: "RGB1",
            decode: { _, out in
                StreamReceiver(
                    onRGB: { message, _ in
                        if case .dropped = out.yield(message) { context.metrics.count("dropped-bridge-full") }
                    },
                    onFirstProblem: { error in
                        FileHandle.standardError.write(Data("zmq-rgb: \(error) (further ones are counted)\n".utf8))
                    })
            },
            forward: { (message: RGBMessage) in
                let h = message.header
                let (w, hh) = (Int(h.width), Int(h.height))
                var image: Image
                switch h.pixelFormat {
                case .rgb8 where message.payload.count == w * hh * 3:
                    image = Image(uint8: message.payload, width: w, height: hh, channels: 3)
                case .bgr8 where message.payload.count == w * hh * 3:
                    var p = message.payload
                    for i in stride(from: 0, to: p.count, by: 3) { p.swapAt(i, i + 2) }
                    image = Image(uint8: p, width: w, height: hh, channels: 3)
                case .png, .jpeg:
                    guard let decoded = try? ImageFile.decode(message.payload, name: "rgb frame \(h.frameID)") else {
                        context.metrics.count("undecodable-images")
                        return
                    }
                    image = decoded.rgb()
                default:
                    context.metrics.count("undecodable-images")
                    return
                }
                await context.send(
                    "frames",
                    RGBFrame(
                        id: Int(h.frameID), image: image, exposureStart: h.exposureStartNanoseconds,
                        exposureEnd: h.exposureEndNanoseconds, ingestedAt: context.clock.now()))
            })
    }
}

/// `zmq-publish`: publishes deblurred frames (RGB messages, PNG or rgb8) for viewers.
struct ZMQPublishSink: Stage {
    let endpoint: String
    let format: PixelFormat
    let hwm: Int

    static let kind = StageKind(
        name: "zmq-publish", summary: "publishes deblurred frames as RGB messages on a PUB socket",
        parameters: [
            ParameterSpec("endpoint", .string, "endpoint to bind, e.g. tcp://127.0.0.1:5560"),
            ParameterSpec("format", .choice(["png", "rgb8"]), default: .string("png"), "payload format"),
            ParameterSpec(
                "hwm", .int(1...1_000_000), default: .int(16),
                "send high-water mark (slow viewers lose frames, never the pipeline)"),
        ],
        inputs: [PortSpec("frames", Ports.deblurred)], outputs: [],
        make: { p, _ in
            ZMQPublishSink(
                endpoint: p.string("endpoint") ?? "", format: p.string("format") == "rgb8" ? .rgb8 : .png,
                hwm: p.int("hwm") ?? 16)
        })

    func run(_ context: StageContext) async throws {
        let owner = SocketOwner()
        try await owner.start(endpoint: endpoint, hwm: hwm)
        defer { owner.stop() }
        var sequence: UInt64 = 0
        while let f = try await context.receive("frames", as: DeblurredFrame.self) {
            let image = Image(
                width: f.sharp.width, height: f.sharp.height, channels: f.sharp.channels, pixels: f.sharp.data.array)
            let payload = format == .png ? try ImageFile.encodePNG(image) : image.toUInt8()
            let message = RGBMessage(
                pixelFormat: format, width: image.width, height: image.height, payload: payload,
                sequence: sequence, frameID: UInt64(f.frameID),
                exposureStartNanoseconds: f.exposureStart, exposureEndNanoseconds: f.exposureEnd)
            sequence += 1
            if !owner.send(message.encoded()) { context.metrics.count("dropped-by-hwm") }
        }
    }
}

/// A PUB socket owned by one dedicated thread; other threads hand it messages.
final class SocketOwner: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the socket is created, used and closed only on
    // `thread`; `queue`/`stopping` are only touched under `lock`.
    private let lock = NSCondition()
    private var queue: [([[UInt8]], (Bool) -> Void)] = []
    private var stopping = false
    private var thread: Thread?

    func start(endpoint: String, hwm: Int) async throws {
        let ready = DispatchSemaphore(value: 0)
        let setup = SetupResult()
        let t = Thread { [self] in
            do {
                let context = try Context()
                let socket = try Socket(context, type: .pub)
                try socket.setSendHighWaterMark(hwm)
                try socket.bind(endpoint)
                ready.signal()
                while true {
                    lock.lock()
                    while queue.isEmpty && !stopping { lock.wait() }
                    if queue.isEmpty && stopping { lock.unlock(); break }
                    let (parts, done) = queue.removeFirst()
                    lock.unlock()
                    let result = try? socket.send(parts: parts, timeout: .zero)
                    if case .sent? = result { done(true) } else { done(false) }
                }
                socket.close()
                withExtendedLifetime(context) {}
            } catch {
                setup.error = error
                ready.signal()
            }
        }
        thread = t
        t.start()
        ready.wait()
        if let e = setup.error { throw e }
    }

    /// Queues a message; returns whether it was sent (PUB never blocks: a full HWM drops).
    func send(_ parts: [[UInt8]]) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let ok = SetupResult()
        lock.lock()
        queue.append(
            (
                parts,
                { sent in
                    ok.sent = sent; done.signal()
                }
            ))
        lock.signal()
        lock.unlock()
        done.wait()
        return ok.sent
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.signal()
        lock.unlock()
    }
}

private final class SetupResult: @unchecked Sendable {
    // Invariant for @unchecked Sendable: written before a semaphore signal, read after the wait.
    var error: (any Error)?
    var sent = false
}
