internal import CZeroMQ

/// A failed libzmq call: what was attempted, on which endpoint, and libzmq's errno and text.
///
/// Expected outcomes (a receive timing out, a send that would block, a context being shut
/// down) are not errors; they are values of ``ReceiveResult`` and ``SendResult``.
public struct ZeroMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operation, e.g. `"bind"`, `"zmq_setsockopt(ZMQ_SNDHWM)"`.
    public let operation: String
    /// The endpoint involved, when there is one.
    public let endpoint: String?
    /// The `errno` value reported by `zmq_errno()`.
    public let errno: Int32
    /// The text of `zmq_strerror(errno)`.
    public let message: String

    /// Creates an error; `message` defaults to libzmq's text for `errno`.
    public init(operation: String, endpoint: String? = nil, errno: Int32, message: String? = nil) {
        self.operation = operation
        self.endpoint = endpoint
        self.errno = errno
        self.message = message ?? ZeroMQError.text(for: errno)
    }

    public var description: String {
        let place = endpoint.map { " on \($0)" } ?? ""
        return "zmq: \(operation)\(place) failed: \(message) (errno \(errno))"
    }

    /// libzmq's text for an errno value (`zmq_strerror`).
    static func text(for errno: Int32) -> String {
        guard let cString = zmq_strerror(errno) else { return "unknown error" }
        return String(cString: cString)
    }

    /// The error for the last failed call on this thread.
    static func last(_ operation: String, endpoint: String? = nil) -> ZeroMQError {
        ZeroMQError(operation: operation, endpoint: endpoint, errno: zmq_errno())
    }
}

/// The libzmq version linked at run time, e.g. `(4, 3, 4)` (`zmq_version`).
public func libzmqVersion() -> (major: Int, minor: Int, patch: Int) {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return (Int(major), Int(minor), Int(patch))
}
