import Synchronization

/// A thread-safe front of ``StreamDecoder`` that hands decoded messages to callbacks.
///
/// Feed it the parts of every received message from the socket's thread (for example from
/// a `ReceiveLoop` handler); read ``counters`` from any thread. Callbacks run on the
/// calling thread, after the decoder's lock is released, in message order.
///
/// ```swift
/// let receiver = StreamReceiver(onSpikes: { batch, gap in ... })
/// let loop = try ReceiveLoop(context: context, configuration: configuration) {
///     receiver.handle($0.parts) ? .stop : .continue
/// }
/// ```
public final class StreamReceiver: Sendable {
    /// Called for each delivered spike batch with what was lost before it.
    public typealias SpikeHandler = @Sendable (SpikeMessage, SequenceTracker.Gap) -> Void
    /// Called for each delivered RGB frame with what was lost before it.
    public typealias RGBHandler = @Sendable (RGBMessage, SequenceTracker.Gap) -> Void
    /// Called the first time each kind of problem is seen (log it once).
    public typealias ProblemHandler = @Sendable (WireProtocolError) -> Void

    private let decoder: Mutex<StreamDecoder>
    private let onSpikes: SpikeHandler?
    private let onRGB: RGBHandler?
    private let onFirstProblem: ProblemHandler?

    /// Creates a receiver.
    /// - Parameters:
    ///   - restartWindow: see ``SequenceTracker/restartWindow``.
    ///   - onSpikes: delivered spike batches.
    ///   - onRGB: delivered RGB frames.
    ///   - onFirstProblem: the first malformed message of each kind, and the first message of
    ///     an unsupported version.
    public init(
        restartWindow: UInt64 = 1024, onSpikes: SpikeHandler? = nil, onRGB: RGBHandler? = nil,
        onFirstProblem: ProblemHandler? = nil
    ) {
        decoder = Mutex(StreamDecoder(restartWindow: restartWindow))
        self.onSpikes = onSpikes
        self.onRGB = onRGB
        self.onFirstProblem = onFirstProblem
    }

    /// Decodes one message and calls the matching callback.
    /// - Returns: whether the message was a delivered spike batch or RGB frame flagged end of
    ///   stream.
    @discardableResult
    public func handle(_ parts: [[UInt8]]) -> Bool {
        let outcome = decoder.withLock { $0.decode(parts) }
        switch outcome {
        case .spikes(let message, let gap):
            onSpikes?(message, gap)
            return message.header.flags.contains(.endOfStream)
        case .rgb(let message, let gap):
            onRGB?(message, gap)
            return message.header.isEndOfStream
        case .malformed(let error, let first), .unsupportedVersion(let error, let first):
            if first { onFirstProblem?(error) }
        case .duplicate, .stale:
            break
        }
        return false
    }

    /// Counters so far.
    public var counters: StreamDecoder.Counters { decoder.withLock { $0.counters } }
}

extension StreamDecoder.Counters: CustomStringConvertible {
    /// One line for logs: delivered, lost, skipped.
    public var description: String {
        let kinds = malformed.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }
        return "received \(received) messages: \(spikeMessages) spike (\(spikeFrames) frames), \(rgbMessages) rgb; "
            + "lost \(lostMessages) messages (\(lostFrames) frames); duplicates \(duplicates), stale \(stale), "
            + "restarts \(spikeSequence.restarts + rgbSequence.restarts); unsupported version \(unsupportedVersion); "
            + "malformed \(malformedTotal)" + (kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))")
    }
}
