internal import CZeroMQ

/// A ZeroMQ context: the I/O threads and the sockets created from it.
///
/// A context is thread safe and may be shared between threads; sockets are not (see
/// ``Socket``). Lifetime: sockets keep their context alive; when the last reference goes,
/// the context is terminated (`zmq_ctx_term`) after every socket has been closed.
///
/// Shutting down: call ``shutdown()`` from any thread to wake every blocked
/// send/receive on every socket of this context (they return `.terminated`); each owning
/// thread then closes its socket.
public final class Context: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `handle` is set once in init and never changes;
    // libzmq documents zmq_ctx_* and zmq_socket as safe to call from any thread.
    let handle: UnsafeMutableRawPointer

    /// Creates a context (`zmq_ctx_new`).
    /// - Parameter ioThreads: the number of I/O threads (`ZMQ_IO_THREADS`), at least 1.
    /// - Throws: ``ZeroMQError`` when libzmq cannot create one.
    public init(ioThreads: Int = 1) throws(ZeroMQError) {
        precondition(ioThreads >= 1, "ioThreads must be at least 1")
        guard let handle = zmq_ctx_new() else { throw ZeroMQError.last("zmq_ctx_new") }
        if ioThreads != 1, zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = ZeroMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    /// Wakes every blocked operation on this context's sockets and makes further ones
    /// return `.terminated` (`zmq_ctx_shutdown`). Safe to call from any thread, more than once.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // Every socket holds a strong reference to its context, so all of them are closed
        // by now and zmq_ctx_term cannot block on an open socket.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == CZeroMQ_EINTR() {}
    }
}
