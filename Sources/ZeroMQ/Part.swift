internal import CZeroMQ

/// One part of a message to send: bytes copied by libzmq, or memory lent to it without a copy.
public enum OutgoingPart: @unchecked Sendable {
    // Invariant for @unchecked Sendable: a lent region is never written while its owner
    // lives (the lender's promise, stated at ``lent(_:owner:)``), so any thread may read it.

    /// An array; libzmq copies one shorter than ``Socket/zeroCopyBytes`` and borrows a longer
    /// one (the array is kept alive until libzmq's I/O thread has written it).
    case bytes([UInt8])
    /// `region`, kept valid by `owner` and not written while `owner` lives (e.g. a tensor's
    /// storage): libzmq sends it without a copy, holding `owner` until its I/O thread is done.
    case lent(UnsafeRawBufferPointer, owner: AnyObject & Sendable)

    /// Bytes in the part.
    public var count: Int {
        switch self {
        case .bytes(let b): b.count
        case .lent(let region, _): region.count
        }
    }
}

/// One part of a received message. A part of at least ``Socket/zeroCopyBytes`` keeps the
/// buffer libzmq received it into (its `zmq_msg_t` stays open until the last copy of this
/// value is gone), so taking it costs no copy; shorter parts are plain arrays.
public struct ReceivedPart: Sendable {
    private enum Storage: Sendable {
        case bytes([UInt8])
        case message(ReceivedBuffer)
    }
    private let storage: Storage

    init(bytes: [UInt8]) { storage = .bytes(bytes) }
    init(buffer: ReceivedBuffer) { storage = .message(buffer) }

    /// Bytes in the part.
    public var count: Int {
        switch storage {
        case .bytes(let b): b.count
        case .message(let m): m.count
        }
    }

    /// The bytes as an array (a copy for a kept buffer).
    public var bytes: [UInt8] {
        switch storage {
        case .bytes(let b): b
        case .message(let m): Array(UnsafeRawBufferPointer(start: m.base, count: m.count))
        }
    }

    /// Calls `body` with the bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .bytes(let b): try b.withUnsafeBytes(body)
        case .message(let m): try body(UnsafeRawBufferPointer(start: m.base, count: m.count))
        }
    }

    /// For a kept buffer: its bytes, at an address that stays valid and unchanged for as long as
    /// `owner` is alive, so that a consumer can use them in place (holding `owner`); nil for a
    /// short part held as an array.
    public var pinned: (bytes: UnsafeRawBufferPointer, owner: AnyObject & Sendable)? {
        guard case .message(let m) = storage else { return nil }
        return (UnsafeRawBufferPointer(start: m.base, count: m.count), m)
    }
}

/// A received `zmq_msg_t` kept open on the heap; closing it (at deinit, on any thread) gives
/// libzmq's buffer back.
final class ReceivedBuffer: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the message is moved in at init and only read until
    // deinit closes it; libzmq's buffer reference counts are atomic.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    let base: UnsafeRawPointer?
    let count: Int

    /// Takes over `msg` (moved; `msg` is left empty and still needs its close).
    init(moving msg: inout zmq_msg_t) {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
        zmq_msg_move(message, &msg)
        count = zmq_msg_size(message)
        base = count == 0 ? nil : UnsafeRawPointer(zmq_msg_data(message))
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }
}

/// The outcome of ``Socket/receiveParts(timeout:)``: like ``ReceiveResult``, with the parts
/// left where libzmq received them.
public enum PartsReceiveResult: Sendable {
    /// A complete multipart message.
    case parts([ReceivedPart])
    /// Nothing arrived within the timeout.
    case timedOut
    /// The context was shut down (`ETERM`).
    case terminated

    /// Whether nothing arrived.
    public var isTimedOut: Bool {
        if case .timedOut = self { return true }
        return false
    }
}

/// Wakes a socket's owner thread from any other thread: the owner waits in
/// ``Socket/waitForInput(orWakeup:timeout:)`` on its socket and this at once, so that work handed
/// over under a lock is picked up at once instead of at the next poll tick (an eventfd).
public final class Wakeup: Sendable {
    let fd: Int32

    /// - Throws: ``ZeroMQError`` when the kernel refuses an eventfd.
    public init() throws(ZeroMQError) {
        let fd = CZeroMQ_wakeup_open()
        guard fd >= 0 else { throw ZeroMQError(operation: "eventfd", errno: zmq_errno()) }
        self.fd = fd
    }

    deinit { CZeroMQ_wakeup_close(fd) }

    /// Wakes the owner (or makes its next wait return at once); any thread, never blocks.
    public func signal() { CZeroMQ_wakeup_signal(fd) }

    /// Clears the signal; the owner calls this before taking the handed-over work.
    func drain() { CZeroMQ_wakeup_drain(fd) }
}
