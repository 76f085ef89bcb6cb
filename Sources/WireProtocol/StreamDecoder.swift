/// Decodes the messages of one socket (spike and RGB messages, told apart by their magic),
/// tracks their sequences and counts everything that is skipped. Never throws, never stalls.
///
/// Use one decoder per receiving socket, on the socket's thread; read ``counters`` for
/// reports and the `firstOfKind` flag of ``Outcome/malformed(_:firstOfKind:)`` to log each
/// kind of malformed message once.
public struct StreamDecoder: Sendable {
    /// What one message turned out to be.
    public enum Outcome: Sendable, Equatable {
        /// A spike batch to deliver, with what was lost before it.
        case spikes(SpikeMessage, gap: SequenceTracker.Gap)
        /// An RGB frame to deliver, with what was lost before it.
        case rgb(RGBMessage, gap: SequenceTracker.Gap)
        /// Skipped: malformed; `firstOfKind` is true the first time this kind is seen.
        case malformed(WireProtocolError, firstOfKind: Bool)
        /// Skipped: a major version this build does not speak; `first` is true the first time.
        case unsupportedVersion(WireProtocolError, first: Bool)
        /// Skipped: a repeated sequence number.
        case duplicate
        /// Skipped: an older sequence number (reordered).
        case stale
    }

    /// Everything counted by a decoder.
    public struct Counters: Sendable, Equatable {
        /// Messages handed to ``decode(_:)``.
        public var received: UInt64 = 0
        /// Spike messages delivered.
        public var spikeMessages: UInt64 = 0
        /// Spike frames delivered.
        public var spikeFrames: UInt64 = 0
        /// RGB messages delivered.
        public var rgbMessages: UInt64 = 0
        /// Spike stream sequence counters.
        public var spikeSequence = SequenceTracker.Counters()
        /// RGB stream sequence counters.
        public var rgbSequence = SequenceTracker.Counters()
        /// Malformed messages by kind.
        public var malformed: [MalformedKind: UInt64] = [:]
        /// Messages of an unsupported major version.
        public var unsupportedVersion: UInt64 = 0

        /// All zero.
        public init() {}

        /// Malformed messages of every kind.
        public var malformedTotal: UInt64 { malformed.values.reduce(0, +) }
        /// Duplicates of both streams.
        public var duplicates: UInt64 { spikeSequence.duplicates.addingSaturated(rgbSequence.duplicates) }
        /// Stale (reordered) messages of both streams.
        public var stale: UInt64 { spikeSequence.stale.addingSaturated(rgbSequence.stale) }
        /// Spike frames lost in gaps.
        public var lostFrames: UInt64 { spikeSequence.lostFrames }
        /// Messages lost in sequence gaps, both streams.
        public var lostMessages: UInt64 { spikeSequence.lostMessages.addingSaturated(rgbSequence.lostMessages) }
    }

    /// Counters since creation.
    public var counters: Counters {
        var c = base
        c.spikeSequence = spikeTracker.counters
        c.rgbSequence = rgbTracker.counters
        return c
    }

    /// Geometry and rate of a spike stream, fixed for the life of a stream id.
    private struct StreamShape: Equatable, Sendable {
        var streamID: UInt32
        var height: UInt32
        var width: UInt32
        var rateHz: Double
    }

    private var base = Counters()
    private var spikeShape: StreamShape?
    private var spikeTracker: SequenceTracker
    private var rgbTracker: SequenceTracker

    /// Creates a decoder.
    /// - Parameter restartWindow: see ``SequenceTracker/restartWindow``.
    public init(restartWindow: UInt64 = 1024) {
        spikeTracker = SequenceTracker(restartWindow: restartWindow)
        rgbTracker = SequenceTracker(restartWindow: restartWindow)
    }

    /// Decodes one multipart message.
    public mutating func decode(_ parts: [[UInt8]]) -> Outcome {
        base.received += 1
        let magic = parts.first.map { Array($0.prefix(4)) } ?? []
        do throws(WireProtocolError) {
            if magic == RGBHeader.magic {
                let message = try RGBMessage(parts: parts)
                let h = message.header
                switch rgbTracker.observe(streamID: h.streamID, sequence: h.sequence) {
                case .accepted(let gap):
                    base.rgbMessages += 1
                    return .rgb(message, gap: gap)
                case .duplicate: return .duplicate
                case .stale: return .stale
                }
            }
            // Anything that is not RGB1 goes through the spike decoder, which reports a bad
            // magic (or a short header / wrong part count) as malformed.
            let message = try SpikeMessage(parts: parts)
            let h = message.header
            let shape = StreamShape(streamID: h.streamID, height: h.height, width: h.width, rateHz: h.spikeRateHz)
            if let known = spikeShape, known.streamID == shape.streamID, known != shape {
                throw .malformed(
                    .streamChanged,
                    detail:
                        "SPK1 stream \(h.streamID) changed from \(known.height)x\(known.width) at \(known.rateHz) Hz to \(h.height)x\(h.width) at \(h.spikeRateHz) Hz without a new stream id (sequence \(h.sequence))"
                )
            }
            switch spikeTracker.observe(
                streamID: message.header.streamID, sequence: message.header.sequence, frames: message.frameRange)
            {
            case .accepted(let gap):
                spikeShape = shape
                base.spikeMessages += 1
                base.spikeFrames += UInt64(message.header.frameCount)
                return .spikes(message, gap: gap)
            case .duplicate: return .duplicate
            case .stale: return .stale
            }
        } catch {
            switch error {
            case .malformed(let kind, _):
                let count = base.malformed[kind, default: 0]
                base.malformed[kind] = count + 1
                return .malformed(error, firstOfKind: count == 0)
            case .unsupportedVersion:
                base.unsupportedVersion += 1
                return .unsupportedVersion(error, first: base.unsupportedVersion == 1)
            }
        }
    }
}
