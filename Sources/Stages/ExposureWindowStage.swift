import Foundation
import Pipeline
import SpikeCore

/// `exposure-window`: for each RGB exposure, the T spike frames centred on the exposure
/// midpoint (frame `c` nearest the midpoint, frames `[c - T/2, c - T/2 + T)`) and their TFI
/// by the training convention. Waits while the needed spikes have not arrived; in live mode
/// an exposure still waiting after `timeout_ms` is dropped and counted.
struct ExposureWindowStage: Stage {
    let length: Int
    let tfiWindow: Int
    let rateHz: Double
    let startNs: Int64
    let timeout: Duration?

    static let kind = StageKind(
        name: "exposure-window",
        summary: "cuts the spike window around each RGB exposure midpoint and computes its TFI",
        parameters: [
            ParameterSpec(
                "frames", .int(2...100_000), default: .int(56), "T, spike frames per window (the model's S_in_chs)"),
            ParameterSpec("tfi_window", .int(1...100_000), default: .int(50), "middleTFI search window"),
            ParameterSpec("rate_hz", .double(1...10_000_000), default: .double(20_000), "spike frames per second"),
            ParameterSpec("start_ns", .int(Int.min...Int.max), default: .int(0), "spike-clock time of spike frame 0"),
            ParameterSpec(
                "timeout_ms", .double(0...3_600_000), default: .double(1000),
                "live mode: give up on an exposure after this long"),
        ],
        inputs: [PortSpec("spikes", Ports.spikes), PortSpec("exposures", Ports.rgb)],
        outputs: [PortSpec("windows", Ports.windows)],
        make: { p, env in
            ExposureWindowStage(
                length: p.int("frames") ?? 56, tfiWindow: p.int("tfi_window") ?? 50,
                rateHz: p.double("rate_hz") ?? 20_000, startNs: Int64(p.int("start_ns") ?? 0),
                timeout: env.clock.live ? .milliseconds(Int64(p.double("timeout_ms") ?? 1000)) : nil)
        })

    struct Pending {
        var frame: RGBFrame
        var center: Int
        var since: Duration
    }

    func run(_ context: StageContext) async throws {
        // Both inputs are consumed concurrently; the state is owned by this task.
        var buffer = SpikeBuffer()
        var pending: [Pending] = []
        var spikesDone = false, exposuresDone = false
        var latestWindowStart: Int?  // window start of the newest exposure seen
        let events = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(4))
        let gate = BufferGate(capacity: maxBufferedFrames)
        let live = timeout != nil
        let spikeTask = Task {
            while let b = try await context.receive("spikes", as: SpikeBatch.self) {
                // Replay: hold the spike stream back (backpressure) while the buffer is full
                // and the RGB side has not caught up; nothing is dropped.
                while !live && gate.isFull && !Task.isCancelled { try await Task.sleep(for: .milliseconds(1)) }
                await events.continuation.yieldWaiting(.spikes(b))
            }
            await events.continuation.yieldWaiting(.spikesEnded)
        }
        let rgbTask = Task {
            while let f = try await context.receive("exposures", as: RGBFrame.self) {
                await events.continuation.yieldWaiting(.exposure(f))
            }
            await events.continuation.yieldWaiting(.exposuresEnded)
        }
        defer { spikeTask.cancel(); rgbTask.cancel() }
        for await event in events.stream {
            switch event {
            case .spikes(let b):
                if !buffer.append(b) { context.metrics.count("spike-discontinuities") }
            case .exposure(let f):
                let c = Int((Double(f.midpoint - startNs) * rateHz / 1e9).rounded())
                pending.append(Pending(frame: f, center: c, since: context.clock.now()))
                latestWindowStart = max(
                    latestWindowStart ?? Int.min, SpikeWindow.range(center: c, length: length).lowerBound)
            case .spikesEnded: spikesDone = true
            case .exposuresEnded: exposuresDone = true
            }
            // Emit every window that is complete, in exposure order.
            while let first = pending.first {
                let range = SpikeWindow.range(center: first.center, length: length)
                let available = buffer.available
                if !buffer.isEmpty, buffer.contains(range) {
                    let frames = try buffer.frames(range)
                    let tfi = TFI.trainingInput(frames, tfiWindow: tfiWindow)
                    pending.removeFirst()
                    await context.send(
                        "windows",
                        ExposureWindow(
                            frameID: first.frame.id, centerIndex: first.center, spikes: frames, tfi: tfi,
                            exposureStart: first.frame.exposureStart, exposureEnd: first.frame.exposureEnd,
                            ingestedAt: max(first.frame.ingestedAt, context.clock.now())))
                    continue
                }
                // Frames already passed (or lost in a gap, with later frames arrived) never come.
                let tooEarly =
                    !buffer.isEmpty
                    && (range.lowerBound < available.lowerBound || range.upperBound <= available.upperBound)
                let timedOut = timeout.map { context.clock.now() - first.since > $0 } ?? false
                if tooEarly || range.lowerBound < 0 || (spikesDone && !available.contains(range.upperBound - 1))
                    || timedOut
                {
                    context.metrics.count(timedOut ? "dropped-timeout" : "dropped-out-of-range")
                    pending.removeFirst()
                    continue
                }
                break
            }
            // Forget spike frames no pending or future exposure can need: exposures arrive in
            // time order, so nothing before the newest one's window start is needed again.
            if !buffer.isEmpty {
                var keepFrom =
                    pending.first.map { SpikeWindow.range(center: $0.center, length: length).lowerBound }
                    ?? latestWindowStart ?? buffer.available.lowerBound
                if let latest = latestWindowStart { keepFrom = min(keepFrom, latest) }
                if live && buffer.available.upperBound - max(keepFrom, buffer.available.lowerBound) > maxBufferedFrames
                {
                    // Live: the RGB side is far behind; keep the newest frames, count the rest.
                    let newKeep = buffer.available.upperBound - maxBufferedFrames
                    context.metrics.count(
                        "spike-frames-evicted", by: newKeep - max(keepFrom, buffer.available.lowerBound))
                    keepFrom = newKeep
                }
                buffer.evict(before: keepFrom)
                gate.set(buffer.count)
            }
            if exposuresDone && pending.isEmpty { break }
            if spikesDone && exposuresDone { break }
        }
        for _ in pending { context.metrics.count("dropped-out-of-range") }
    }

    /// Frames the window buffer may hold before the spike input is held back (replay) or old
    /// frames are evicted (live): 1 s at 20 kHz.
    var maxBufferedFrames: Int { max(20_000, 4 * length) }

    enum Event: Sendable {
        case spikes(SpikeBatch)
        case exposure(RGBFrame)
        case spikesEnded
        case exposuresEnded
    }
}

extension AsyncStream.Continuation where Element: Sendable {
    /// Yields, waiting (politely) while the stream's buffer is full, so nothing is lost.
    func yieldWaiting(_ element: Element) async {
        while true {
            switch yield(element) {
            case .enqueued, .terminated: return
            case .dropped: try? await Task.sleep(for: .microseconds(200))
            @unknown default: return
            }
        }
    }
}

/// The buffered frame count, shared between the stage's loop and its spike reader.
final class BufferGate: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0
    let capacity: Int
    init(capacity: Int) { self.capacity = capacity }
    func set(_ n: Int) { lock.withLock { count = n } }
    var isFull: Bool { lock.withLock { count >= capacity } }
}

/// Spike frames kept as the batches they arrived in (no copying of the stream): windows are
/// assembled from the overlapping batches, and whole batches are forgotten once passed.
struct SpikeBuffer {
    private var batches: [SpikeBatch] = []
    private var head = 0

    var isEmpty: Bool { head == batches.count }

    /// Global indices of the frames held.
    var available: Range<Int> {
        guard !isEmpty else { return 0..<0 }
        let last = batches[batches.count - 1]
        return batches[head].firstIndex..<(last.firstIndex + last.frames.count)
    }

    var count: Int { available.count }

    /// Appends a batch. A gap (lost frames) is kept as a gap: windows across it cannot be
    /// cut, the others still can. A batch that goes back in time (a restarted source)
    /// restarts the buffer.
    /// - Returns: false when the batch does not continue the stream.
    mutating func append(_ b: SpikeBatch) -> Bool {
        let continuous = isEmpty || b.firstIndex == available.upperBound
        if !isEmpty && b.firstIndex < available.upperBound {
            batches.removeAll()
            head = 0
        }
        batches.append(b)
        return continuous
    }

    /// Whether every frame of `range` is held.
    func contains(_ range: Range<Int>) -> Bool {
        var next = range.lowerBound
        for b in batches[head...] where b.firstIndex + b.frames.count > next {
            if b.firstIndex > next { return false }
            next = b.firstIndex + b.frames.count
            if next >= range.upperBound { return true }
        }
        return false
    }

    /// The frames `range` (every one of them held: see ``contains(_:)``).
    func frames(_ range: Range<Int>) throws -> PackedSpikeFrames {
        var out: PackedSpikeFrames?
        for b in batches[head...] {
            let lo = max(range.lowerBound, b.firstIndex), hi = min(range.upperBound, b.firstIndex + b.frames.count)
            guard lo < hi else { continue }
            let part = try b.frames.slice((lo - b.firstIndex)..<(hi - b.firstIndex))
            if out == nil { out = part } else { out?.append(contentsOf: part) }
        }
        guard let out, out.count == range.count else {
            throw StageError("exposure-window: frames \(range) are not buffered")
        }
        return out
    }

    /// Forgets every batch that ends at or before `index`.
    mutating func evict(before index: Int) {
        while head < batches.count, batches[head].firstIndex + batches[head].frames.count <= index { head += 1 }
        if head > 64 && head * 2 > batches.count {
            batches.removeFirst(head)
            head = 0
        }
    }
}
