import Foundation
import Pipeline
import SpikeCore

/// `exposure-window`: for each RGB exposure, the T spike frames centred on the exposure
/// midpoint (frame `c` nearest the midpoint, frames `[c - T/2, c - T/2 + T)`) and their TFI
/// by the training convention.
///
/// Waiting is bounded by the spike clock and by memory, not by a wall-clock guess: an
/// exposure waits until its spikes arrive, until the spike stream has passed it, until the
/// spikes end, or, in live mode, until no new spike frame has arrived for `timeout_ms` of
/// the pipeline clock; at most `max_pending` exposures wait (the newest is refused beyond).
/// Every give-up is counted with its cause (docs/pipelines.md). Exposures are kept in time
/// order, so an absurd one (far in the future) waits alone at the end and never blocks or
/// poisons the others. A spike source restart (new stream id, or the frame clock going
/// backwards) or a geometry change restarts the spike buffer; an RGB source restart (new
/// stream id) drops the exposures still waiting from the old run.
struct ExposureWindowStage: Stage {
    let length: Int
    let tfiWindow: Int
    /// The rate set in the file, or nil to use the sources' (20 kHz when they say nothing).
    let rateHz: Double?
    let startNs: Int64
    let stallTimeout: Duration?
    let maxPending: Int

    static let kind = StageKind(
        name: "exposure-window",
        summary: "cuts the spike window around each RGB exposure midpoint and computes its TFI",
        parameters: [
            ParameterSpec(
                "frames", .int(2...100_000), default: .int(56), "T, spike frames per window (the model's S_in_chs)"),
            ParameterSpec("tfi_window", .int(1...100_000), default: .int(50), "middleTFI search window"),
            ParameterSpec(
                "rate_hz", .double(1...10_000_000), optional: true,
                "spike frames per second (default: the source's rate, e.g. the wire header's; 20000 if unknown)"),
            ParameterSpec(
                "start_ns", .int(-(1 << 62)...(1 << 62)), default: .int(0), "spike-clock time of spike frame 0"),
            ParameterSpec(
                "timeout_ms", .double(0...3_600_000), default: .double(1000),
                "live mode: give up on waiting exposures after this long without new spike frames"),
            ParameterSpec(
                "max_pending", .int(1...100_000), default: .int(512), "exposures that may wait for their spikes"),
        ],
        inputs: [PortSpec("spikes", Ports.spikes), PortSpec("exposures", Ports.rgb)],
        outputs: [PortSpec("windows", Ports.windows)],
        make: { p, env in
            ExposureWindowStage(
                length: p.int("frames") ?? 56, tfiWindow: p.int("tfi_window") ?? 50, rateHz: p.double("rate_hz"),
                startNs: Int64(p.int("start_ns") ?? 0),
                stallTimeout: env.clock.live ? .milliseconds(Int64(p.double("timeout_ms") ?? 1000)) : nil,
                maxPending: p.int("max_pending") ?? 512)
        })

    /// Frames the window buffer may hold before the spike input is held back: 1 s at 20 kHz.
    var maxBufferedFrames: Int { max(20_000, 4 * length) }

    /// The spike frame nearest to `midpoint`, or nil when it is not representable (an absurd
    /// exposure time; frame indices stay below 2^52).
    static func center(midpoint: Int64, startNs: Int64, rateHz: Double) -> Int? {
        let (offset, overflow) = midpoint.subtractingReportingOverflow(startNs)
        guard !overflow else { return nil }
        let frames = (Double(offset) * rateHz / 1e9).rounded()
        guard frames.isFinite, abs(frames) < 0x1p52 else { return nil }
        return Int(frames)
    }

    func run(_ context: StageContext) async throws {
        var state = WindowState(stage: self)
        let tick: Duration? = stallTimeout.map { max(.milliseconds(5), min($0 / 4, .milliseconds(100))) }
        try await context.withMergedInputs(["spikes", "exposures"], tick: tick) { inputs in
            while let event = await inputs.next() {
                switch event {
                case .item(let port, let value) where port == "spikes":
                    state.add(try context.value(value, port: port, as: SpikeBatch.self), context)
                case .item(let port, let value):
                    state.add(try context.value(value, port: port, as: RGBFrame.self), context)
                case .ended(let port):
                    if port == "spikes" { state.spikesEnded = true } else { state.exposuresEnded = true }
                case .tick:
                    break
                }
                try await state.emitReady(context)
                if let stallTimeout, !state.pending.isEmpty,
                    context.clock.now() - state.lastSpikeProgress > stallTimeout
                {
                    context.metrics.count("dropped-spike-stall", by: state.pending.count)
                    state.pending.removeAll()
                }
                state.evict(context)
                // Hold the spikes back (backpressure, nothing dropped here) while the buffer is full
                // and no exposure waits on it: the RGB side is behind. Live, the source's socket
                // then feels it (PULL: the publisher waits; SUB: its high-water mark drops, counted).
                inputs.hold(
                    "spikes", state.buffer.count >= maxBufferedFrames && state.pending.isEmpty && !state.exposuresEnded)
                if state.exposuresEnded && state.pending.isEmpty { break }
                if state.spikesEnded && state.exposuresEnded { break }
            }
        }
        if !state.pending.isEmpty {
            context.metrics.count(
                state.spikesEnded ? "dropped-spikes-ended" : "dropped-unfinished", by: state.pending.count)
        }
    }

    /// The stage's state between events, owned by its task.
    struct WindowState {
        let stage: ExposureWindowStage
        var buffer = SpikeBuffer()
        /// Waiting exposures in midpoint order.
        var pending: [RGBFrame] = []
        var spikesEnded = false
        var exposuresEnded = false
        var spikeStream: UInt32?
        var rgbStream: UInt32?
        /// The source's spike rate (from the batches), when known.
        var sourceRate: Double?
        var warnedRate = false
        /// Window start of the last window emitted (later exposures need nothing before it).
        var lastEmittedStart: Int?
        var lastSpikeProgress: Duration = .zero
        /// After an RGB restart, the newest spike frame then: until the spike stream restarts
        /// too (or runs on for `maxBufferedFrames`), the new run's exposures wait instead of
        /// being judged against the old spike clock.
        var rgbRestartedAt: Int?

        init(stage: ExposureWindowStage) { self.stage = stage }

        var rate: Double { stage.rateHz ?? sourceRate ?? 20_000 }

        mutating func add(_ b: SpikeBatch, _ context: StageContext) {
            lastSpikeProgress = context.clock.now()
            if let r = b.rateHz, r != sourceRate {
                if let explicit = stage.rateHz, explicit != r {
                    context.metrics.count("rate-mismatch")
                    if !warnedRate {
                        warnedRate = true
                        FileHandle.standardError.write(
                            Data(
                                "\(context.name): the spike source says \(r) Hz, the stage's rate_hz is \(explicit) Hz; using \(explicit) Hz\n"
                                    .utf8))
                    }
                }
                sourceRate = r
            }
            let restarted =
                (spikeStream != nil && spikeStream != b.stream)
                || (!buffer.isEmpty && b.firstIndex < buffer.available.upperBound)
            let reshaped = buffer.geometry.map { $0 != b.frames.geometry } ?? false
            if restarted || reshaped {
                context.metrics.count(reshaped ? "spike-geometry-changes" : "spike-restarts")
                buffer = SpikeBuffer()
                lastEmittedStart = nil
                rgbRestartedAt = nil
            } else if !buffer.isEmpty && b.firstIndex > buffer.available.upperBound {
                context.metrics.count("spike-gaps")
            }
            spikeStream = b.stream
            buffer.append(b)
        }

        mutating func add(_ f: RGBFrame, _ context: StageContext) {
            if let s = rgbStream, s != f.stream {
                context.metrics.count("rgb-restarts")
                context.metrics.count("dropped-restart", by: pending.count)
                pending.removeAll()
                lastEmittedStart = nil
                rgbRestartedAt = buffer.isEmpty ? nil : buffer.available.upperBound
            }
            rgbStream = f.stream
            guard ExposureWindowStage.center(midpoint: f.midpoint, startNs: stage.startNs, rateHz: rate) != nil else {
                context.metrics.count("dropped-absurd-exposure")
                return
            }
            // Sorted insert (stable): exposures normally arrive in order, so this is an append.
            var i = pending.count
            while i > 0 && pending[i - 1].midpoint > f.midpoint { i -= 1 }
            pending.insert(f, at: i)
            if pending.count > stage.maxPending {
                pending.removeLast()
                context.metrics.count("dropped-pending-full")
            }
            if pending.count == 1 { lastSpikeProgress = max(lastSpikeProgress, context.clock.now()) }
        }

        func range(_ p: RGBFrame) -> Range<Int>? {
            ExposureWindowStage.center(midpoint: p.midpoint, startNs: stage.startNs, rateHz: rate).map {
                SpikeWindow.range(center: $0, length: stage.length)
            }
        }

        /// Emits every complete window in time order and drops those that can never complete.
        mutating func emitReady(_ context: StageContext) async throws {
            while let first = pending.first {
                // Before the first spike batch (or after a restart) nothing can be judged: the
                // source's rate and the stream's position are unknown yet.
                if buffer.isEmpty && !spikesEnded { break }
                guard let range = range(first) else {
                    pending.removeFirst()
                    context.metrics.count("dropped-absurd-exposure")
                    continue
                }
                let available = buffer.available
                if !buffer.isEmpty, buffer.contains(range) {
                    let frames = try buffer.frames(range)
                    let tfi = TFI.trainingInput(frames, tfiWindow: stage.tfiWindow)
                    pending.removeFirst()
                    lastEmittedStart = range.lowerBound
                    await context.send(
                        "windows",
                        ExposureWindow(
                            frameID: first.id, centerIndex: range.lowerBound + stage.length / 2,
                            spikes: frames, tfi: tfi, exposureStart: first.exposureStart,
                            exposureEnd: first.exposureEnd,
                            ingestedAt: max(first.ingestedAt, context.clock.now())))
                    continue
                }
                if let since = rgbRestartedAt, !spikesEnded, available.upperBound - since < stage.maxBufferedFrames,
                    range.lowerBound < available.lowerBound
                {
                    // The RGB source restarted and the spikes have not yet: wait for them.
                    break
                }
                if range.lowerBound < 0 || (!buffer.isEmpty && range.lowerBound < available.lowerBound) {
                    // Frames before the stream's start, or already forgotten: they never come.
                    context.metrics.count("dropped-out-of-range")
                } else if !buffer.isEmpty && range.upperBound <= available.upperBound {
                    // Inside what arrived, but across a gap of lost frames.
                    context.metrics.count("dropped-spike-gap")
                } else if spikesEnded {
                    context.metrics.count("dropped-spikes-ended")
                } else {
                    // Needs frames still to come; so do all later exposures.
                    break
                }
                pending.removeFirst()
            }
        }

        /// Forgets spike frames no waiting or future exposure needs.
        mutating func evict(_ context: StageContext) {
            guard !buffer.isEmpty else { return }
            let available = buffer.available
            // Exposures arrive in time order: frames before both the first waiting window and
            // the last emitted one are needed by nobody (a waiting exposure far ahead, absurd or
            // not, does not evict the recent frames the next exposures need). Memory is capped
            // at twice `maxBufferedFrames`: frames older than that behind the newest are
            // forgotten even if something might still want them (counted when it does).
            let firstWaiting = pending.first.flatMap { range($0)?.lowerBound }
            var keepFrom =
                [firstWaiting, lastEmittedStart].compactMap { $0 }.min()
                ?? available.upperBound - stage.maxBufferedFrames
            keepFrom = max(keepFrom, available.upperBound - 2 * stage.maxBufferedFrames, available.lowerBound)
            buffer.evict(before: keepFrom)
        }
    }
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

    /// The geometry of the frames held.
    var geometry: SpikeGeometry? { isEmpty ? nil : batches[head].frames.geometry }

    /// Appends a batch. A gap (lost frames) is kept as a gap: windows across it cannot be
    /// cut, the others still can. A batch that goes back in time, or of another geometry,
    /// restarts the buffer (the caller counts it).
    mutating func append(_ b: SpikeBatch) {
        if !isEmpty && (b.firstIndex < available.upperBound || b.frames.geometry != batches[head].frames.geometry) {
            batches.removeAll()
            head = 0
        }
        batches.append(b)
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
