/// Why a message was refused by the decoder.
public enum WireProtocolError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The message does not follow the layout; `detail` names the field and the problem.
    case malformed(MalformedKind, detail: String)
    /// The message's major version differs from the one this build speaks.
    case unsupportedVersion(magic: String, found: ProtocolVersion, supported: ProtocolVersion)

    public var description: String {
        switch self {
        case .malformed(let kind, let detail):
            "wire protocol: malformed message (\(kind)): \(detail)"
        case .unsupportedVersion(let magic, let found, let supported):
            "wire protocol: \(magic) message version \(found) is not supported (this build speaks \(supported.major).x)"
        }
    }
}

/// The kinds of malformed message, each counted separately so that a receiver can log the
/// first occurrence of each kind once.
public enum MalformedKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The message has the wrong number of parts (spike and RGB messages have two).
    case wrongPartCount
    /// The header is shorter than the fixed header of its kind.
    case shortHeader
    /// The first four bytes are neither `SPK1` nor `RGB1`.
    case badMagic
    /// Height or width is zero, or a spike frame's `height * width` is not a multiple of 8.
    case invalidGeometry
    /// A spike message carries zero frames.
    case zeroFrames
    /// A spike payload is not `frameCount * height * width / 8` bytes.
    case packedSizeMismatch
    /// The spike rate is zero, negative or not finite.
    case invalidSpikeRate
    /// An RGB payload's size differs from the header's payload length, or from
    /// `width * height * 3` for raw pixel formats.
    case payloadLengthMismatch
    /// An RGB message carries an empty payload.
    case emptyPayload
    /// An RGB pixel format code that this version does not define.
    case unknownPixelFormat
    /// An RGB exposure ends before it starts, or lies outside +-2^62 ns.
    case invalidExposure
    /// A spike first frame index beyond ``SpikeHeader/maximumFrameIndex``.
    case frameIndexOutOfRange
    /// A message of a known stream whose geometry or spike rate differs from the stream's
    /// first message (rejected until a new stream id starts a new stream).
    case streamChanged

    public var description: String { rawValue }
}
