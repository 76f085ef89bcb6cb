/// A multipart ZeroMQ message: one or more frames of bytes, delivered atomically.
public struct Message: Sendable, Equatable {
    /// The parts in order; a message has at least one part.
    public var parts: [[UInt8]]

    /// Creates a message from its parts.
    public init(parts: [[UInt8]]) {
        self.parts = parts
    }

    /// Creates a message from its parts.
    public init(_ parts: [UInt8]...) {
        self.parts = parts
    }

    /// The total number of payload bytes.
    public var byteCount: Int { parts.reduce(0) { $0 + $1.count } }
}

/// The outcome of a receive.
public enum ReceiveResult: Sendable, Equatable {
    /// A complete multipart message.
    case message(Message)
    /// Nothing arrived within the timeout (or nothing was waiting, for a non-blocking receive).
    case timedOut
    /// The context was shut down (`ETERM`); the owner should close the socket.
    case terminated

    /// The message, if one was received.
    public var message: Message? {
        if case .message(let m) = self { return m }
        return nil
    }
}

/// The outcome of a send.
public enum SendResult: Sendable, Equatable {
    /// The message was queued (PUB may still drop it at the high-water mark; that is silent
    /// in libzmq).
    case sent
    /// The send would block (high-water mark reached) within the timeout; nothing was queued.
    case wouldBlock
    /// The context was shut down (`ETERM`).
    case terminated
}
