/// A wire protocol version, sent as one little-endian `u16`: `major << 8 | minor`.
///
/// Receivers accept any minor version of their major version (a newer minor may only
/// append header fields, which older receivers ignore) and refuse other majors.
public struct ProtocolVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Incompatible changes.
    public let major: UInt8
    /// Compatible additions.
    public let minor: UInt8

    /// Creates a version.
    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// Creates a version from its wire form.
    public init(rawValue: UInt16) {
        self.init(major: UInt8(rawValue >> 8), minor: UInt8(rawValue & 0xFF))
    }

    /// The wire form, `major << 8 | minor`.
    public var rawValue: UInt16 { UInt16(major) << 8 | UInt16(minor) }

    /// The version this build writes: 1.0.
    public static let current = ProtocolVersion(major: 1, minor: 0)

    /// Whether a receiver speaking `self` accepts messages of `other`.
    public func accepts(_ other: ProtocolVersion) -> Bool { other.major == major }

    public static func < (a: ProtocolVersion, b: ProtocolVersion) -> Bool { a.rawValue < b.rawValue }

    public var description: String { "\(major).\(minor)" }
}
