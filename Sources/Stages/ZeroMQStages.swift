import Foundation
import ImageCodecs
import Imaging
import Pipeline
import SpikeCore
import Synchronization
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
    ParameterSpec(
        "curve_secret_key", .path, optional: true,
        "CurveZMQ server: this side's secret key file (with curve_clients; usually with attach: bind)"),
    ParameterSpec("curve_clients", .path, optional: true, "CurveZMQ server: folder of the accepted publishers' .pub"),
    ParameterSpec(
        "curve_server_key", .path, optional: true,
        "CurveZMQ client: the publisher's public key file (with curve_key; usually with attach: connect)"),
    ParameterSpec("curve_key", .path, optional: true, "CurveZMQ client: this side's secret key file"),
]

/// The CurveZMQ part a live source plays, from its parameters (nil: plain TCP).
func curveRole(_ p: Parameters, stage: String) throws -> CurveRole? {
    switch (
        p.string("curve_secret_key"), p.string("curve_clients"), p.string("curve_server_key"), p.string("curve_key")
    ) {
    case (nil, nil, nil, nil): return nil
    case (let key?, let clients?, nil, nil):
        return .server(secretKey: try CurveKeys.read(key), allowed: try CurveKeys.allowed(in: clients))
    case (nil, nil, let server?, let key?):
        return .client(serverKey: try CurveKeys.read(server), secretKey: try CurveKeys.read(key))
    default:
        throw StageError(
            "stage '\(stage)': CurveZMQ takes curve_secret_key + curve_clients (server) or curve_server_key + curve_key (client)"
        )
    }
}

/// Runs a receive loop on its own thread and bridges decoded items into the stage's task.
///
/// PULL is lossless: when the stage falls behind, the bridge holds the socket's thread, the
/// socket's queue fills and the publisher waits (ZeroMQ's high-water mark). SUB is live: a
/// full bridge drops the newest message and counts it (`dropped-bridge-full`).
private func receive<Item: Sendable>(
    _ context: StageContext, parameters p: Parameters, subscription: String,
    decode: @escaping @Sendable (StreamReceiver, ThreadBridge<Item>) -> StreamReceiver,
    forward: (Item) async -> Void
) async throws {
    let zmq = try Context()
    let curve = try curveRole(p, stage: context.name)
    var zap: ZAPHandler?
    if case .server(_, let allowed)? = curve {
        let name = context.name
        zap = try ZAPHandler(context: zmq, allowed: allowed) {
            FileHandle.standardError.write(
                Data("\(name): refused a publisher whose key is not authorised (further ones are counted)\n".utf8))
        }
    }
    defer {
        if let zap {
            context.metrics.count("curve-refused", by: zap.counts.refused)
            zap.stop()
        }
    }
    let lossless = p.string("pattern") == "pull"
    let bridge = ThreadBridge<Item>(capacity: 256, blocking: lossless)
    let receiver = decode(StreamReceiver(), bridge)
    let idle = Duration.milliseconds(Int64(p.double("idle_timeout_ms") ?? 0))
    let endpoint = p.string("endpoint") ?? ""
    var config = ReceiveLoop.Configuration(
        socketType: lossless ? .pull : .sub,
        attach: p.string("attach") == "bind" ? .bind(endpoint) : .connect(endpoint),
        receiveHighWaterMark: p.int("hwm"), subscriptions: [Array(subscription.utf8)], pollInterval: .milliseconds(20))
    config.curve = curve
    let shutdown = context.shutdown
    let clock = context.clock
    let last = Mutex<Duration?>(nil)
    let loop = try ReceiveLoop(
        context: zmq, configuration: config,
        idle: {
            // Shutdown, or `idle_timeout_ms` without messages once data has flowed.
            if shutdown.isRequested { return .stop }
            guard idle > .zero, let t = last.withLock({ $0 }) else { return .continue }
            return clock.now() - t > idle ? .stop : .continue
        },
        handler: { message in
            last.withLock { $0 = clock.now() }
            if receiver.handle(message.parts) { return .stop }
            return shutdown.isRequested ? .stop : .continue
        })
    let waiter = Thread {
        loop.wait()
        bridge.finish()
    }
    waiter.start()
    while let item = await bridge.next() { await forward(item) }
    bridge.finish()
    loop.stop()
    report(receiver.counters, to: context.metrics)
    if let error = loop.error { throw error }
    withExtendedLifetime(zmq) {}
}

/// Every receiver counter, under the names docs/protocol.md lists.
private func report(_ c: StreamDecoder.Counters, to metrics: StageMetrics) {
    func count(_ name: String, _ value: UInt64) { metrics.count(name, by: Int(clamping: value)) }
    count("lost-messages", c.lostMessages)
    count("lost-frames", c.lostFrames)
    count("malformed", c.malformedTotal)
    for (kind, n) in c.malformed { count("malformed-\(kind)", n) }
    count("duplicates", c.duplicates)
    count("stale", c.stale)
    count("restarts", c.spikeSequence.restarts.addingReportingOverflow(c.rgbSequence.restarts).partialValue)
    count("discontinuities", c.spikeSequence.discontinuities)
    count("unsupported-version", c.unsupportedVersion)
}

/// A bounded hand-over from a socket's thread to the stage's task: `put` runs on the
/// thread (and may block it, never a cooperative thread), `next` is awaited by the task.
final class ThreadBridge<Item: Sendable>: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `queue`, `head`, `finished` and `waiter` are only
    // touched while holding `condition`; the continuation is resumed after unlocking.
    private let condition = NSCondition()
    private var queue: [Item] = []
    private var head = 0
    private var finished = false
    private var waiter: CheckedContinuation<Item?, Never>?
    let capacity: Int
    let blocking: Bool

    init(capacity: Int, blocking: Bool) {
        self.capacity = capacity
        self.blocking = blocking
    }

    /// Hands over an item; with `blocking`, waits (on this thread) while full.
    /// - Returns: false when the item was dropped (full, not blocking) or the bridge finished.
    @discardableResult
    func put(_ item: Item) -> Bool {
        condition.lock()
        while blocking && !finished && queue.count - head >= capacity { condition.wait() }
        if finished || queue.count - head >= capacity {
            condition.unlock()
            return false
        }
        if let w = waiter {
            waiter = nil
            condition.unlock()
            w.resume(returning: item)
            return true
        }
        queue.append(item)
        condition.unlock()
        return true
    }

    /// The next item, or nil once finished and drained.
    func next() async -> Item? {
        await withCheckedContinuation { (c: CheckedContinuation<Item?, Never>) in
            condition.lock()
            if let item = popLocked() {
                condition.unlock()
                c.resume(returning: item)
            } else if finished {
                condition.unlock()
                c.resume(returning: nil)
            } else {
                waiter = c
                condition.unlock()
            }
        }
    }

    /// The next queued item without waiting, or nil when none is queued.
    func poll() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        return popLocked()
    }

    /// Takes the oldest queued item and wakes a blocked `put` (call with `condition` locked).
    private func popLocked() -> Item? {
        guard head < queue.count else { return nil }
        let item = queue[head]
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        condition.signal()
        return item
    }

    /// Ends the hand-over: `next` drains what is queued, then returns nil; blocked `put`s return.
    func finish() {
        condition.lock()
        finished = true
        let w = head < queue.count ? nil : waiter
        if w != nil { waiter = nil }
        condition.broadcast()
        condition.unlock()
        w?.resume(returning: nil)
    }
}

/// `zmq-spikes`: live spike frames in the wire protocol (docs/protocol.md).
struct ZMQSpikeSource: Stage {
    let parameters: Parameters

    static let kind = StageKind(
        name: "zmq-spikes", summary: "live spike frames from a ZeroMQ socket (docs/protocol.md)",
        parameters: liveParameters, inputs: [], outputs: [PortSpec("frames", Ports.spikes)],
        make: { p, env in
            _ = try curveRole(p, stage: env.stageName)
            return ZMQSpikeSource(parameters: p)
        })

    func run(_ context: StageContext) async throws {
        try await receive(
            context, parameters: parameters, subscription: "SPK1",
            decode: { receiver, out in
                StreamReceiver(
                    onSpikes: { message, _ in
                        // Lost frames are counted by the receiver; the windowing stage sees the gap.
                        // The decoder bounds the first frame index by 2^52, so it converts exactly.
                        let h = message.header
                        let batch = SpikeBatch(
                            frames: message.frames, firstIndex: Int(h.firstFrameIndex), ingestedAt: .zero,
                            stream: h.streamID, rateHz: h.spikeRateHz)
                        if !out.put(batch) { context.metrics.count("dropped-bridge-full") }
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
        make: { p, env in
            _ = try curveRole(p, stage: env.stageName)
            return ZMQRGBSource(parameters: p)
        })

    func run(_ context: StageContext) async throws {
        try await receive(
            context, parameters: parameters, subscription: "RGB1",
            decode: { _, out in
                StreamReceiver(
                    onRGB: { message, _ in
                        if !out.put(message) { context.metrics.count("dropped-bridge-full") }
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
                    guard decoded.width == w, decoded.height == hh else {
                        // The header's geometry is what the stream promised.
                        context.metrics.count("image-size-mismatch")
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
                        id: Int(clamping: h.frameID), image: image, exposureStart: h.exposureStartNanoseconds,
                        exposureEnd: h.exposureEndNanoseconds, ingestedAt: context.clock.now(), stream: h.streamID))
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
            if !(await owner.send(message.encoded())) { context.metrics.count("dropped-by-hwm") }
        }
    }
}

/// A PUB socket owned by one dedicated thread; other threads hand it messages.
final class SocketOwner: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the socket is created, used and closed only on
    // `thread`; `queue`/`stopping` are only touched under `lock`.
    private let lock = NSCondition()
    private var queue: [([[UInt8]], @Sendable (Bool) -> Void)] = []
    private var stopping = false
    private var thread: Thread?

    func start(endpoint: String, hwm: Int) async throws {
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            startThread(endpoint: endpoint, hwm: hwm) { ready.resume(with: $0) }
        }
    }

    private func startThread(endpoint: String, hwm: Int, ready: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let t = Thread { [self] in
            do {
                let context = try Context()
                let socket = try Socket(context, type: .pub)
                try socket.setSendHighWaterMark(hwm)
                try socket.bind(endpoint)
                ready(.success(()))
                while true {
                    lock.lock()
                    while queue.isEmpty && !stopping { lock.wait() }
                    if queue.isEmpty && stopping {
                        lock.unlock()
                        break
                    }
                    let (parts, done) = queue.removeFirst()
                    lock.unlock()
                    let result = try? socket.send(parts: parts, timeout: .zero)
                    if case .sent? = result { done(true) } else { done(false) }
                }
                socket.close()
                withExtendedLifetime(context) {}
            } catch {
                ready(.failure(error))
            }
        }
        lock.withLock { thread = t }
        t.start()
    }

    /// Queues a message; returns whether it was sent (PUB never blocks: a full HWM drops).
    /// The caller's task is suspended, not blocked, while the socket's thread sends.
    func send(_ parts: [[UInt8]]) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            lock.lock()
            if stopping {
                lock.unlock()
                c.resume(returning: false)
                return
            }
            queue.append((parts, { c.resume(returning: $0) }))
            lock.signal()
            lock.unlock()
        }
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.signal()
        lock.unlock()
    }
}
