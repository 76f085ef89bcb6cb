import SpikeCore

/// The fixed header of a spike message (part 1), 48 bytes little-endian.
///
/// | offset | size | type | field |
/// |---|---|---|---|
/// | 0 | 4 | bytes | magic `SPK1` |
/// | 4 | 2 | u16 | version `major << 8 \| minor` |
/// | 6 | 2 | u16 | flags (bit 0: end of stream) |
/// | 8 | 4 | u32 | stream id |
/// | 12 | 4 | u32 | frame count |
/// | 16 | 8 | u64 | sequence number |
/// | 24 | 8 | u64 | first frame index |
/// | 32 | 4 | u32 | height |
/// | 36 | 4 | u32 | width |
/// | 40 | 8 | f64 | spike rate in Hz |
public struct SpikeHeader: Sendable, Equatable {
    /// `SPK1`.
    public static let magic: [UInt8] = Array("SPK1".utf8)
    /// Bytes of the fixed header in version 1.0.
    public static let size = 48

    /// The version written; decoding keeps the sender's version.
    public var version: ProtocolVersion
    /// Flag bits; see ``SpikeHeader/Flags``.
    public var flags: Flags
    /// Identifies the publisher run; a change resyncs the receiver.
    public var streamID: UInt32
    /// Frames in the payload, at least 1.
    public var frameCount: UInt32
    /// Per-stream message counter, +1 per message.
    public var sequence: UInt64
    /// Index of the payload's first frame in the spike clock (frames since stream start).
    public var firstFrameIndex: UInt64
    /// Frame height in pixels.
    public var height: UInt32
    /// Frame width in pixels.
    public var width: UInt32
    /// Spike frames per second of the sensor clock.
    public var spikeRateHz: Double

    /// Flag bits of a spike header.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// The publisher sends nothing more on this stream after this message.
        public static let endOfStream = Flags(rawValue: 1)
    }

    /// Creates a header.
    public init(
        version: ProtocolVersion = .current, flags: Flags = [], streamID: UInt32, frameCount: UInt32,
        sequence: UInt64, firstFrameIndex: UInt64, height: UInt32, width: UInt32, spikeRateHz: Double
    ) {
        self.version = version
        self.flags = flags
        self.streamID = streamID
        self.frameCount = frameCount
        self.sequence = sequence
        self.firstFrameIndex = firstFrameIndex
        self.height = height
        self.width = width
        self.spikeRateHz = spikeRateHz
    }

    /// The largest first frame index accepted: frame indices stay far from `Int64.max`
    /// (2^52 frames is 7,000 years at 20 kHz), so window arithmetic never overflows.
    public static let maximumFrameIndex: UInt64 = 1 << 52

    /// Bytes of the packed payload this header announces, or nil when the product does not
    /// fit in 64 bits (a hostile header).
    public var payloadSize: Int? {
        let (hw, o1) = UInt64(height).multipliedReportingOverflow(by: UInt64(width))
        let (all, o2) = hw.multipliedReportingOverflow(by: UInt64(frameCount))
        guard !o1, !o2 else { return nil }
        return Int(exactly: all / 8)
    }

    /// The 48 header bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.write(raw: Self.magic)
        w.write(version.rawValue)
        w.write(flags.rawValue)
        w.write(streamID)
        w.write(frameCount)
        w.write(sequence)
        w.write(firstFrameIndex)
        w.write(height)
        w.write(width)
        w.write(spikeRateHz)
        return w.bytes
    }
}

/// A batch of bit-packed spike frames with its header: what one spike message carries.
///
/// Wire form: two parts, the ``SpikeHeader`` and the frames in the `.dat` layout
/// (`frameCount * height * width / 8` bytes, see `PackedSpikeFrames`).
public struct SpikeMessage: Sendable, Equatable {
    /// The header; its geometry and frame count match ``frames``.
    public let header: SpikeHeader
    /// The frames.
    public let frames: PackedSpikeFrames

    /// Creates a message, filling the header's geometry and frame count from `frames`.
    /// - Precondition: `frames` holds at least one frame.
    public init(
        frames: PackedSpikeFrames, sequence: UInt64, firstFrameIndex: UInt64, spikeRateHz: Double,
        streamID: UInt32 = 0, flags: SpikeHeader.Flags = []
    ) {
        precondition(frames.count > 0, "a spike message carries at least one frame")
        self.frames = frames
        self.header = SpikeHeader(
            flags: flags, streamID: streamID, frameCount: UInt32(frames.count), sequence: sequence,
            firstFrameIndex: firstFrameIndex, height: UInt32(frames.geometry.height),
            width: UInt32(frames.geometry.width), spikeRateHz: spikeRateHz)
    }

    /// The frame indices carried, `firstFrameIndex ..< firstFrameIndex + frameCount`.
    /// Decoding guarantees that the upper bound does not overflow.
    public var frameRange: Range<UInt64> {
        header.firstFrameIndex..<header.firstFrameIndex + UInt64(header.frameCount)
    }

    /// The two parts: header, packed frames.
    public func encoded() -> [[UInt8]] { [header.encoded(), frames.bytes] }

    /// Decodes and validates a spike message.
    /// - Throws: ``WireProtocolError`` naming the malformed kind, or an unsupported version.
    public init(parts: [[UInt8]]) throws(WireProtocolError) {
        let header = try Self.decodeHeader(parts)
        let geometry: SpikeGeometry
        do {
            geometry = try SpikeGeometry(height: Int(header.height), width: Int(header.width))
            frames = try PackedSpikeFrames(geometry: geometry, bytes: parts[1])
        } catch {
            // decodeHeader checked geometry and size; this is a second line of defence.
            throw .malformed(.invalidGeometry, detail: "\(error)")
        }
        self.header = header
    }

    /// Decodes and validates the header against the payload part without building frames.
    public static func decodeHeader(_ parts: [[UInt8]]) throws(WireProtocolError) -> SpikeHeader {
        var r = try checkEnvelope(parts, magic: SpikeHeader.magic, name: "SPK1", headerSize: SpikeHeader.size)
        let version = ProtocolVersion(rawValue: UInt16(parts[0][4]) | UInt16(parts[0][5]) << 8)
        let header = SpikeHeader(
            version: version, flags: .init(rawValue: r.read()), streamID: r.read(), frameCount: r.read(),
            sequence: r.read(), firstFrameIndex: r.read(), height: r.read(), width: r.read(),
            spikeRateHz: r.readDouble())
        let limit = UInt32(SpikeGeometry.maximumSide)
        guard header.height > 0, header.width > 0, header.height <= limit, header.width <= limit,
            (UInt64(header.height) * UInt64(header.width)) % 8 == 0
        else {
            throw .malformed(
                .invalidGeometry,
                detail:
                    "SPK1 height \(header.height) x width \(header.width): both must be in 1...\(limit) and H*W a multiple of 8"
            )
        }
        guard header.frameCount > 0 else {
            throw .malformed(.zeroFrames, detail: "SPK1 frame count is 0 (sequence \(header.sequence))")
        }
        guard header.spikeRateHz.isFinite, header.spikeRateHz > 0, header.spikeRateHz <= 1e9 else {
            throw .malformed(
                .invalidSpikeRate, detail: "SPK1 spike rate \(header.spikeRateHz) Hz must be finite and in (0, 1e9]")
        }
        guard header.firstFrameIndex <= SpikeHeader.maximumFrameIndex else {
            throw .malformed(
                .frameIndexOutOfRange,
                detail: "SPK1 first frame index \(header.firstFrameIndex) exceeds \(SpikeHeader.maximumFrameIndex)")
        }
        guard let expected = header.payloadSize, parts[1].count == expected else {
            throw .malformed(
                .packedSizeMismatch,
                detail:
                    "SPK1 payload is \(parts[1].count) bytes, expected \(header.frameCount) frames x \(header.height)x\(header.width)/8 = \(header.payloadSize.map(String.init) ?? "more than 2^64")"
            )
        }
        return header
    }
}
