import Foundation
import HDF5

/// Writes a deblurred frame sequence into an HDF5 file for analysis (schema: docs/hdf5.md).
///
/// Frames are converted and compressed on worker threads (several frames at a time, so
/// compression uses every core); the compressed chunks are then written in frame order with
/// direct chunk writes by one dedicated owner thread, the only thread that touches the file.
/// ``append(_:)`` waits when ``Options/maxFramesInFlight`` frames are still being processed.
///
/// - Important: Ownership: call `append` and `finish` from one task or thread at a time (the
///   class is not `Sendable`); wrap it in an actor to share it. Always call ``finish()``, also
///   after an upstream error or Ctrl-C: it writes the frames still in flight and closes the
///   file, which is then valid with every frame written. A write error (disk full, I/O error)
///   stops writing further frames; it is thrown by the next `append` or by `finish`, whose
///   ``RecordingError/framesWritten`` tells how many frames the closed file holds.
public final class SequenceWriter {
    /// The file being written.
    public let path: String
    /// The options the writer was created with.
    public let options: Options

    private let owner: OwnerThread
    private let core: WriterCore
    private let flow: FlowControl
    private var appended = 0
    private var finished = false

    /// Creates the file at `url` (replacing an existing one) with every dataset and attribute.
    ///
    /// - Throws: ``RecordingError`` for invalid options, or when the file cannot be created
    ///   (with HDF5's reason, e.g. permission denied).
    public init(url: URL, options: Options) throws {
        path = url.path
        self.options = options
        guard options.height > 0, options.width > 0 else {
            throw RecordingError(
                file: path, stage: "options", message: "image size \(options.height)x\(options.width) must be positive")
        }
        guard options.flushEvery >= 1, options.maxFramesInFlight >= 1 else {
            throw RecordingError(file: path, stage: "options", message: "flushEvery and maxFramesInFlight must be >= 1")
        }
        owner = OwnerThread(name: "hdf5-sink")
        flow = FlowControl()
        let path = path
        do {
            core = try owner.sync { try WriterCore(path: path, options: options) }
        } catch {
            owner.stop()
            throw error
        }
    }

    deinit {
        if !finished { _ = try? finish() }
    }

    /// Accepts the next frame; it is converted, compressed and written asynchronously.
    ///
    /// - Throws: ``RecordingError`` when the frame's sizes do not match the options, when the
    ///   writer is finished, or when an earlier frame could not be written.
    public func append(_ frame: RecordedFrame) throws {
        try check(frame)
        if let error = flow.waitForSlot(limit: options.maxFramesInFlight) { throw error }
        dispatch(frame)
    }

    /// Refuses a frame of the wrong sizes, or any frame once finished.
    private func check(_ frame: RecordedFrame) throws {
        guard !finished else {
            throw RecordingError(file: path, stage: "append frame \(appended)", message: "the writer is finished")
        }
        try validate(frame, index: appended)
    }

    /// Encodes the frame off the caller's thread and queues its write (a slot is taken).
    private func dispatch(_ frame: RecordedFrame) {
        let index = appended
        appended += 1
        let options = options
        let owner = owner
        let core = core
        let flow = flow
        DispatchQueue.global(qos: .userInitiated).async {
            let encoded = FrameEncoder.encode(frame, options: options)
            owner.submit { core.accept(index: index, encoded, flow: flow) }
        }
    }

    /// Accepts the next frame like ``append(_:)``, suspending (not blocking the thread) while
    /// `maxFramesInFlight` frames wait for the file: for callers on Swift concurrency's
    /// cooperative threads, such as pipeline stages.
    public func append(_ frame: RecordedFrame) async throws {
        try check(frame)
        if let error = await flow.slot(limit: options.maxFramesInFlight) { throw error }
        dispatch(frame)
    }

    /// ``finish()`` for async callers: suspends instead of blocking while frames are written.
    @discardableResult
    public func finish() async throws -> Summary {
        guard !finished else {
            throw RecordingError(file: path, stage: "finish", message: "the writer is already finished")
        }
        finished = true
        await flow.idle()
        let core = core
        defer { owner.stop() }
        let summary = try await owner.run { try core.close() }
        if let error = flow.error { throw error }
        return summary
    }

    private func validate(_ frame: RecordedFrame, index: Int) throws {
        let pixels = options.height * options.width
        let checks: [(ImageDataset, RecordedFrame.Pixels?)] = [
            (.sharp, frame.sharp), (.spikeRecon, frame.spikeRecon), (.quickSharp, frame.quickSharp),
            (.blur, frame.blur),
        ]
        for (dataset, data) in checks where options.imageDatasets.contains(dataset) {
            guard let data else {
                throw RecordingError(
                    file: path, stage: "append frame \(index)",
                    message: "field \(dataset.rawValue) is missing but the file has /\(dataset.rawValue)")
            }
            let expected = pixels * dataset.channels
            guard data.count == expected else {
                throw RecordingError(
                    file: path, stage: "append frame \(index)",
                    message: "field \(dataset.rawValue) has \(data.count) values, expected "
                        + "\(options.height)x\(options.width)x\(dataset.channels) = \(expected)")
            }
        }
    }

    /// Waits until every accepted frame is written (or a write failed); the file stays open.
    ///
    /// - Throws: ``RecordingError``: the first write error.
    public func waitUntilWritten() throws {
        flow.waitUntilIdle()
        if let error = flow.error { throw error }
    }

    /// Writes every accepted frame, closes the file and reports what it holds.
    ///
    /// Safe to call after errors; later calls throw.
    /// - Throws: ``RecordingError``: the first write error (the file is closed and valid with
    ///   ``RecordingError/framesWritten`` frames), or a failure to close.
    @discardableResult
    public func finish() throws -> Summary {
        guard !finished else {
            throw RecordingError(file: path, stage: "finish", message: "the writer is already finished")
        }
        finished = true
        flow.waitUntilIdle()
        let core = core
        defer { owner.stop() }
        let summary = try owner.sync { try core.close() }
        if let error = flow.error { throw error }
        return summary
    }
}

/// Frames in flight and the first write error; shared by the caller and the owner thread.
final class FlowControl: @unchecked Sendable {
    // Invariant: every stored property is only accessed while `condition` is locked;
    // continuations are resumed after unlocking.
    private let condition = NSCondition()
    private var inFlight = 0
    private var firstError: RecordingError?
    /// Async callers waiting for a slot (`limit`) or for idleness (`nil`).
    private var waiters: [(limit: Int?, continuation: CheckedContinuation<Void, Never>)] = []

    /// Resumes the waiters whose condition now holds (call with `condition` locked).
    private func readyWaiters() -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        waiters.removeAll { w in
            let ok = w.limit.map { inFlight < $0 || firstError != nil } ?? (inFlight == 0)
            if ok { ready.append(w.continuation) }
            return ok
        }
        return ready
    }

    /// ``waitForSlot(limit:)`` without blocking the thread.
    func slot(limit: Int) async -> RecordingError? {
        while true {
            if let outcome = takeSlot(limit: limit) { return outcome.error }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                condition.lock()
                let now = inFlight < limit || firstError != nil
                if !now { waiters.append((limit, c)) }
                condition.unlock()
                if now { c.resume() }
            }
        }
    }

    /// A slot taken (`error` nil), the first write error, or nil to wait.
    private func takeSlot(limit: Int) -> (error: RecordingError?, Void)? {
        condition.lock()
        defer { condition.unlock() }
        if let firstError { return (firstError, ()) }
        guard inFlight < limit else { return nil }
        inFlight += 1
        return (nil, ())
    }

    /// ``waitUntilIdle()`` without blocking the thread.
    func idle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            let now = inFlight == 0
            if !now { waiters.append((nil, c)) }
            condition.unlock()
            if now { c.resume() }
        }
    }

    /// Waits until fewer than `limit` frames are in flight and takes a slot; returns the
    /// first write error instead if there is one.
    func waitForSlot(limit: Int) -> RecordingError? {
        condition.lock()
        defer { condition.unlock() }
        while inFlight >= limit && firstError == nil { condition.wait() }
        if let firstError { return firstError }
        inFlight += 1
        return nil
    }

    func release() {
        condition.lock()
        inFlight -= 1
        condition.broadcast()
        let ready = readyWaiters()
        condition.unlock()
        for c in ready { c.resume() }
    }

    func fail(_ error: RecordingError) {
        condition.lock()
        if firstError == nil { firstError = error }
        condition.broadcast()
        let ready = readyWaiters()
        condition.unlock()
        for c in ready { c.resume() }
    }

    var error: RecordingError? {
        condition.lock()
        defer { condition.unlock() }
        return firstError
    }

    func waitUntilIdle() {
        condition.lock()
        while inFlight > 0 { condition.wait() }
        condition.unlock()
    }
}
