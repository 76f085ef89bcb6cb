/// How an RGB payload is encoded.
public enum PixelFormat: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Raw 8-bit R, G, B interleaved, rows top to bottom: `width * height * 3` bytes.
    case rgb8 = 0
    /// Raw 8-bit B, G, R interleaved: `width * height * 3` bytes.
    case bgr8 = 1
    /// A JPEG file.
    case jpeg = 2
    /// A PNG file.
    case png = 3

    /// Whether the payload size is fixed by the geometry.
    public var isRaw: Bool { self == .rgb8 || self == .bgr8 }

    public var description: String {
        switch self {
        case .rgb8: "rgb8"
        case .bgr8: "bgr8"
        case .jpeg: "jpeg"
        case .png: "png"
        }
    }
}

/// The fixed header of an RGB message (part 1), 64 bytes little-endian.
///
/// | offset | size | type | field |
/// |---|---|---|---|
/// | 0 | 4 | bytes | magic `RGB1` |
/// | 4 | 2 | u16 | version `major << 8 \| minor` |
/// | 6 | 1 | u8 | pixel format (0 rgb8, 1 bgr8, 2 jpeg, 3 png) |
/// | 7 | 1 | u8 | flags (bit 0: end of stream) |
/// | 8 | 4 | u32 | stream id |
/// | 12 | 4 | u32 | width |
/// | 16 | 4 | u32 | height |
/// | 20 | 4 | u32 | reserved, 0 |
/// | 24 | 8 | u64 | sequence number |
/// | 32 | 8 | u64 | frame id |
/// | 40 | 8 | i64 | exposure start, ns of the spike clock |
/// | 48 | 8 | i64 | exposure end, ns of the spike clock |
/// | 56 | 8 | u64 | payload length in bytes |
public struct RGBHeader: Sendable, Equatable {
    /// `RGB1`.
    public static let magic: [UInt8] = Array("RGB1".utf8)
    /// Bytes of the fixed header in version 1.0.
    public static let size = 64

    /// The version written; decoding keeps the sender's version.
    public var version: ProtocolVersion
    /// Payload encoding.
    public var pixelFormat: PixelFormat
    /// Flag bits; bit 0 is end of stream.
    public var flags: UInt8
    /// Identifies the publisher run; a change resyncs the receiver.
    public var streamID: UInt32
    /// Image width in pixels.
    public var width: UInt32
    /// Image height in pixels.
    public var height: UInt32
    /// Per-stream message counter, +1 per message.
    public var sequence: UInt64
    /// The camera's frame number.
    public var frameID: UInt64
    /// Exposure start in nanoseconds of the spike clock (frame index / spike rate).
    public var exposureStartNanoseconds: Int64
    /// Exposure end in nanoseconds of the spike clock, >= start.
    public var exposureEndNanoseconds: Int64
    /// Bytes in part 2.
    public var payloadLength: UInt64

    /// Creates a header.
    public init(
        version: ProtocolVersion = .current, pixelFormat: PixelFormat, flags: UInt8 = 0, streamID: UInt32,
        width: UInt32, height: UInt32, sequence: UInt64, frameID: UInt64,
        exposureStartNanoseconds: Int64, exposureEndNanoseconds: Int64, payloadLength: UInt64
    ) {
        self.version = version
        self.pixelFormat = pixelFormat
        self.flags = flags
        self.streamID = streamID
        self.width = width
        self.height = height
        self.sequence = sequence
        self.frameID = frameID
        self.exposureStartNanoseconds = exposureStartNanoseconds
        self.exposureEndNanoseconds = exposureEndNanoseconds
        self.payloadLength = payloadLength
    }

    /// The largest width or height accepted.
    public static let maximumSide: UInt32 = 65_536
    /// The largest pixel count accepted (the image decoders' budget).
    public static let maximumPixels: UInt64 = 100_000_000
    /// The largest exposure time magnitude accepted, 2^62 - 1 ns (146 years): the duration
    /// `end - start` and the midpoint `start + (end - start) / 2` of accepted times never
    /// overflow.
    public static let maximumExposureMagnitude: Int64 = (1 << 62) - 1

    /// Whether the end-of-stream flag is set.
    public var isEndOfStream: Bool { flags & 1 != 0 }

    /// The 64 header bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.write(raw: Self.magic)
        w.write(version.rawValue)
        w.write(pixelFormat.rawValue)
        w.write(flags)
        w.write(streamID)
        w.write(width)
        w.write(height)
        w.write(UInt32(0))
        w.write(sequence)
        w.write(frameID)
        w.write(exposureStartNanoseconds)
        w.write(exposureEndNanoseconds)
        w.write(payloadLength)
        return w.bytes
    }
}

/// One RGB frame with its exposure interval: what one RGB message carries.
public struct RGBMessage: Sendable, Equatable {
    /// The header; its payload length matches ``payload``.
    public let header: RGBHeader
    /// The pixels or the encoded image.
    public let payload: [UInt8]

    /// Creates a message, filling the payload length from `payload`.
    public init(
        pixelFormat: PixelFormat, width: Int, height: Int, payload: [UInt8], sequence: UInt64, frameID: UInt64,
        exposureStartNanoseconds: Int64, exposureEndNanoseconds: Int64, streamID: UInt32 = 0
    ) {
        self.payload = payload
        self.header = RGBHeader(
            pixelFormat: pixelFormat, streamID: streamID, width: UInt32(width), height: UInt32(height),
            sequence: sequence, frameID: frameID, exposureStartNanoseconds: exposureStartNanoseconds,
            exposureEndNanoseconds: exposureEndNanoseconds, payloadLength: UInt64(payload.count))
    }

    /// The two parts: header, payload.
    public func encoded() -> [[UInt8]] { [header.encoded(), payload] }

    /// Decodes and validates an RGB message.
    /// - Throws: ``WireProtocolError`` naming the malformed kind, or an unsupported version.
    public init(parts: [[UInt8]]) throws(WireProtocolError) {
        var r = try checkEnvelope(parts, magic: RGBHeader.magic, name: "RGB1", headerSize: RGBHeader.size)
        let version = ProtocolVersion(rawValue: UInt16(parts[0][4]) | UInt16(parts[0][5]) << 8)
        let formatCode: UInt8 = r.read()
        guard let format = PixelFormat(rawValue: formatCode) else {
            throw .malformed(.unknownPixelFormat, detail: "RGB1 pixel format code \(formatCode) is not defined (0...3)")
        }
        let flags: UInt8 = r.read()
        let streamID: UInt32 = r.read()
        let width: UInt32 = r.read()
        let height: UInt32 = r.read()
        r.skip(4)
        let header = RGBHeader(
            version: version, pixelFormat: format, flags: flags, streamID: streamID, width: width, height: height,
            sequence: r.read(), frameID: r.read(), exposureStartNanoseconds: r.read(),
            exposureEndNanoseconds: r.read(), payloadLength: r.read())
        guard width > 0, height > 0, width <= RGBHeader.maximumSide, height <= RGBHeader.maximumSide,
            UInt64(width) * UInt64(height) <= RGBHeader.maximumPixels
        else {
            throw .malformed(
                .invalidGeometry,
                detail:
                    "RGB1 width \(width) x height \(height): both must be in 1...\(RGBHeader.maximumSide), at most \(RGBHeader.maximumPixels) pixels"
            )
        }
        let bound = RGBHeader.maximumExposureMagnitude
        guard (-bound...bound).contains(header.exposureStartNanoseconds),
            (-bound...bound).contains(header.exposureEndNanoseconds)
        else {
            throw .malformed(
                .invalidExposure,
                detail:
                    "RGB1 exposure \(header.exposureStartNanoseconds)...\(header.exposureEndNanoseconds) ns lies outside +-2^62 ns"
            )
        }
        guard header.exposureEndNanoseconds >= header.exposureStartNanoseconds else {
            throw .malformed(
                .invalidExposure,
                detail:
                    "RGB1 exposure end \(header.exposureEndNanoseconds) ns is before start \(header.exposureStartNanoseconds) ns"
            )
        }
        let payload = parts[1]
        guard header.payloadLength == UInt64(payload.count) else {
            throw .malformed(
                .payloadLengthMismatch,
                detail: "RGB1 payload is \(payload.count) bytes, header says \(header.payloadLength)")
        }
        guard !payload.isEmpty else {
            throw .malformed(.emptyPayload, detail: "RGB1 payload is empty")
        }
        if format.isRaw {
            let expected = UInt64(width) * UInt64(height) * 3
            guard header.payloadLength == expected else {
                throw .malformed(
                    .payloadLengthMismatch,
                    detail:
                        "RGB1 \(format) payload is \(header.payloadLength) bytes, expected \(width)x\(height)x3 = \(expected)"
                )
            }
        }
        self.header = header
        self.payload = payload
    }
}
