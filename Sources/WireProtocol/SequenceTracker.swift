/// Follows one stream's sequence numbers (and frame indices) and says what each message means.
///
/// Rules (see docs/protocol.md):
/// - The first message, or one with a new stream id, starts the stream.
/// - A sequence number `last + 1 + k` is accepted; the `k` skipped messages are counted as
///   lost. For spike messages, a first frame index past the expected next frame counts the
///   missing frames as lost; one before it (a rewind with a newer sequence) is counted as a
///   discontinuity. Either way the tracker resyncs to the new message.
/// - The same sequence number again is a duplicate; an older one is stale (reordered);
///   both are skipped and counted.
/// - A sequence number more than ``restartWindow`` behind the last one means the publisher
///   restarted with the same stream id: counted as a restart and accepted, so a restarted
///   publisher never stalls the receiver.
public struct SequenceTracker: Sendable, Equatable {
    /// What an accepted message implies about the data before it.
    public struct Gap: Sendable, Equatable {
        /// Messages skipped between the last accepted one and this one.
        public var lostMessages: UInt64
        /// Frames missing between the last accepted message and this one.
        public var lostFrames: UInt64
        /// Whether the receiver had to resync (gap, discontinuity, restart or new stream).
        public var resynced: Bool

        /// No loss.
        public static let none = Gap(lostMessages: 0, lostFrames: 0, resynced: false)
    }

    /// The verdict on one message.
    public enum Verdict: Sendable, Equatable {
        /// Deliver the message; `gap` tells what was lost before it.
        case accepted(Gap)
        /// Same sequence number as an already accepted message: skip.
        case duplicate
        /// Older than the last accepted message (reordered): skip.
        case stale
    }

    /// Counters since creation.
    public struct Counters: Sendable, Equatable {
        /// Accepted messages.
        public var accepted: UInt64 = 0
        /// Messages missing from sequence gaps.
        public var lostMessages: UInt64 = 0
        /// Frames missing from frame index gaps.
        public var lostFrames: UInt64 = 0
        /// Repeated sequence numbers, skipped.
        public var duplicates: UInt64 = 0
        /// Older sequence numbers, skipped.
        public var stale: UInt64 = 0
        /// Frame index rewinds with a newer sequence number.
        public var discontinuities: UInt64 = 0
        /// Publisher restarts (new stream id, or sequence far behind).
        public var restarts: UInt64 = 0

        /// All zero.
        public init() {}
    }

    /// How far behind the last sequence number a message may be and still count as reordered.
    public let restartWindow: UInt64
    /// Counters since creation.
    public private(set) var counters = Counters()
    private var streamID: UInt32?
    private var lastSequence: UInt64 = 0
    private var nextFrame: UInt64?

    /// Creates a tracker that has seen nothing.
    public init(restartWindow: UInt64 = 1024) {
        self.restartWindow = restartWindow
    }

    /// Judges one message.
    /// - Parameters:
    ///   - streamID: the header's stream id.
    ///   - sequence: the header's sequence number.
    ///   - frames: for spike messages, the frame indices carried; `nil` for RGB.
    public mutating func observe(streamID: UInt32, sequence: UInt64, frames: Range<UInt64>? = nil) -> Verdict {
        guard let current = self.streamID else {
            return start(streamID: streamID, sequence: sequence, frames: frames, restart: false)
        }
        if current != streamID {
            return start(streamID: streamID, sequence: sequence, frames: frames, restart: true)
        }
        if sequence == lastSequence {
            counters.duplicates += 1
            return .duplicate
        }
        if sequence < lastSequence {
            if lastSequence - sequence > restartWindow {
                return start(streamID: streamID, sequence: sequence, frames: frames, restart: true)
            }
            counters.stale += 1
            return .stale
        }
        var gap = Gap.none
        gap.lostMessages = sequence - lastSequence - 1
        if let frames, let expected = nextFrame {
            if frames.lowerBound > expected {
                gap.lostFrames = frames.lowerBound - expected
            } else if frames.lowerBound < expected {
                counters.discontinuities += 1
                gap.resynced = true
            }
        }
        if gap.lostMessages > 0 || gap.lostFrames > 0 { gap.resynced = true }
        // Saturating: hostile sequence jumps must not trap the receiver.
        counters.lostMessages = counters.lostMessages.addingSaturated(gap.lostMessages)
        counters.lostFrames = counters.lostFrames.addingSaturated(gap.lostFrames)
        counters.accepted += 1
        lastSequence = sequence
        if let frames { nextFrame = frames.upperBound }
        return .accepted(gap)
    }

    private mutating func start(streamID: UInt32, sequence: UInt64, frames: Range<UInt64>?, restart: Bool) -> Verdict {
        if restart { counters.restarts += 1 }
        self.streamID = streamID
        lastSequence = sequence
        nextFrame = frames?.upperBound
        counters.accepted += 1
        return .accepted(Gap(lostMessages: 0, lostFrames: 0, resynced: restart))
    }
}

extension UInt64 {
    /// `self + other`, or `UInt64.max` when that overflows.
    func addingSaturated(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
