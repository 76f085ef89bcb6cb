internal import CZeroMQ

/// A ZeroMQ socket.
///
/// - Important: A socket belongs to one thread: create, use and close it on the same
///   thread (libzmq sockets are not thread safe). `Socket` is deliberately not `Sendable`,
///   so the compiler keeps it from crossing threads. Other threads stop a blocked owner
///   with ``Context/shutdown()``.
///
/// New sockets get a linger of ``defaultLinger`` so that closing never hangs on
/// unsent messages; ``close()`` (or `deinit` as a backstop) closes the socket.
public final class Socket {
    /// The linger applied to every new socket (`ZMQ_LINGER`): 0, pending messages are
    /// dropped at close.
    public static let defaultLinger: Duration = .zero

    /// The pattern of this socket.
    public let type: SocketType
    /// Keeps the context alive while this socket is open.
    public let context: Context
    private var handle: UnsafeMutableRawPointer?

    /// Creates a socket (`zmq_socket`) with linger ``defaultLinger``.
    /// - Throws: ``ZeroMQError`` when libzmq refuses (e.g. the context was shut down).
    public init(_ context: Context, type: SocketType) throws(ZeroMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZeroMQError.last("zmq_socket(\(type))")
        }
        self.context = context
        self.type = type
        self.handle = handle
        try setLinger(Self.defaultLinger)
    }

    deinit {
        if let handle { zmq_close(handle) }
    }

    /// Closes the socket (`zmq_close`); later calls on it are a programming error.
    /// Closing twice is allowed.
    public func close() {
        if let handle { zmq_close(handle) }
        handle = nil
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    private var open: UnsafeMutableRawPointer {
        guard let handle else { preconditionFailure("ZeroMQ socket used after close()") }
        return handle
    }

    // MARK: endpoints

    /// Binds to an endpoint (`zmq_bind`), e.g. `tcp://127.0.0.1:*` (ephemeral port; read
    /// ``lastEndpoint()``) or `ipc:///tmp/x.sock`.
    /// - Throws: ``ZeroMQError`` naming the endpoint (address in use, bad syntax, ...).
    public func bind(_ endpoint: String) throws(ZeroMQError) {
        if zmq_bind(open, endpoint) != 0 { throw ZeroMQError.last("bind", endpoint: endpoint) }
    }

    /// Connects to an endpoint (`zmq_connect`); the connection is made in the background.
    /// - Throws: ``ZeroMQError`` naming the endpoint.
    public func connect(_ endpoint: String) throws(ZeroMQError) {
        if zmq_connect(open, endpoint) != 0 { throw ZeroMQError.last("connect", endpoint: endpoint) }
    }

    /// Removes a bound endpoint (`zmq_unbind`).
    public func unbind(_ endpoint: String) throws(ZeroMQError) {
        if zmq_unbind(open, endpoint) != 0 { throw ZeroMQError.last("unbind", endpoint: endpoint) }
    }

    /// Removes a connection (`zmq_disconnect`).
    public func disconnect(_ endpoint: String) throws(ZeroMQError) {
        if zmq_disconnect(open, endpoint) != 0 { throw ZeroMQError.last("disconnect", endpoint: endpoint) }
    }

    /// The endpoint last bound, with the actual port (`ZMQ_LAST_ENDPOINT`).
    public func lastEndpoint() throws(ZeroMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        if zmq_getsockopt(open, ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 {
            throw ZeroMQError.last("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
        }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: options

    /// Sets the send high-water mark in messages; 0 means no limit. Corresponds to `ZMQ_SNDHWM`.
    /// Takes effect for connections made after the call.
    public func setSendHighWaterMark(_ messages: Int) throws(ZeroMQError) {
        try setInt(ZMQ_SNDHWM, "ZMQ_SNDHWM", messages)
    }

    /// Sets the receive high-water mark in messages; 0 means no limit. Corresponds to `ZMQ_RCVHWM`.
    public func setReceiveHighWaterMark(_ messages: Int) throws(ZeroMQError) {
        try setInt(ZMQ_RCVHWM, "ZMQ_RCVHWM", messages)
    }

    /// Sets how long pending messages are kept after close; `nil` waits forever.
    /// Corresponds to `ZMQ_LINGER`.
    public func setLinger(_ linger: Duration?) throws(ZeroMQError) {
        try setInt(ZMQ_LINGER, "ZMQ_LINGER", Self.milliseconds(linger))
    }

    /// Sets the timeout of blocking receives; `nil` blocks forever. Corresponds to `ZMQ_RCVTIMEO`.
    public func setReceiveTimeout(_ timeout: Duration?) throws(ZeroMQError) {
        try setInt(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO", Self.milliseconds(timeout))
    }

    /// Sets the timeout of blocking sends; `nil` blocks forever. Corresponds to `ZMQ_SNDTIMEO`.
    public func setSendTimeout(_ timeout: Duration?) throws(ZeroMQError) {
        try setInt(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", Self.milliseconds(timeout))
    }

    /// Queues messages only to completed connections. Corresponds to `ZMQ_IMMEDIATE`.
    public func setImmediate(_ on: Bool) throws(ZeroMQError) {
        try setInt(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", on ? 1 : 0)
    }

    /// Keeps only the last message in the queues (no multipart support). Corresponds to `ZMQ_CONFLATE`.
    public func setConflate(_ on: Bool) throws(ZeroMQError) {
        try setInt(ZMQ_CONFLATE, "ZMQ_CONFLATE", on ? 1 : 0)
    }

    /// Sets the kernel receive buffer size in bytes; -1 keeps the OS default. Corresponds to `ZMQ_RCVBUF`.
    public func setReceiveBufferSize(_ bytes: Int) throws(ZeroMQError) {
        try setInt(ZMQ_RCVBUF, "ZMQ_RCVBUF", bytes)
    }

    /// Sets the kernel send buffer size in bytes; -1 keeps the OS default. Corresponds to `ZMQ_SNDBUF`.
    public func setSendBufferSize(_ bytes: Int) throws(ZeroMQError) {
        try setInt(ZMQ_SNDBUF, "ZMQ_SNDBUF", bytes)
    }

    /// Subscribes a SUB socket to messages whose first part starts with `prefix`; an empty
    /// prefix subscribes to everything. Corresponds to `ZMQ_SUBSCRIBE`.
    public func subscribe(prefix: [UInt8] = []) throws(ZeroMQError) {
        try setBytes(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE", prefix)
    }

    /// Removes a subscription. Corresponds to `ZMQ_UNSUBSCRIBE`.
    public func unsubscribe(prefix: [UInt8] = []) throws(ZeroMQError) {
        try setBytes(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE", prefix)
    }

    // MARK: CurveZMQ

    /// Makes this socket a CURVE server with `secretKey` (Z85, 40 characters): clients must
    /// know its public key; which clients are accepted is decided by the context's
    /// ``ZAPHandler``, if one runs. Set before bind. `ZMQ_CURVE_SERVER`, `ZMQ_CURVE_SECRETKEY`.
    public func setCurveServer(secretKey: String) throws(ZeroMQError) {
        try setInt(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", 1)
        try setBytes(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", try Curve.checked(secretKey, "secret key"))
    }

    /// Makes this socket a CURVE client of the server with public key `serverKey`, with its
    /// own key pair (all Z85). Set before connect. `ZMQ_CURVE_SERVERKEY`/`PUBLICKEY`/`SECRETKEY`.
    public func setCurveClient(serverKey: String, publicKey: String, secretKey: String) throws(ZeroMQError) {
        try setBytes(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", try Curve.checked(serverKey, "server key"))
        try setBytes(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", try Curve.checked(publicKey, "public key"))
        try setBytes(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", try Curve.checked(secretKey, "secret key"))
    }

    private func setInt(_ option: Int32, _ name: String, _ value: Int) throws(ZeroMQError) {
        guard let v = Int32(exactly: value) else {
            throw ZeroMQError(operation: "zmq_setsockopt(\(name))", errno: 22, message: "value \(value) out of range")
        }
        var value32 = v
        if zmq_setsockopt(open, option, &value32, MemoryLayout<Int32>.size) != 0 {
            throw ZeroMQError.last("zmq_setsockopt(\(name))")
        }
    }

    private func setBytes(_ option: Int32, _ name: String, _ value: [UInt8]) throws(ZeroMQError) {
        let rc = value.withUnsafeBytes { zmq_setsockopt(open, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZeroMQError.last("zmq_setsockopt(\(name))") }
    }

    /// Milliseconds for libzmq's timeout options: nil -> -1 (infinite), rounded up so that a
    /// positive duration never becomes 0 (non-blocking).
    static func milliseconds(_ duration: Duration?) -> Int {
        guard let duration else { return -1 }
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(min(ms, Int64(Int32.max)))
    }

    // MARK: send / receive

    /// Sends a multipart message (`zmq_send` with `ZMQ_SNDMORE` on all parts but the last).
    ///
    /// - Parameter timeout: `nil` blocks (or honours ``setSendTimeout(_:)``), `.zero` never
    ///   blocks, a positive value waits at most that long for room in the queue.
    /// - Returns: `.sent`, `.wouldBlock` at the high-water mark, or `.terminated`.
    /// - Throws: ``ZeroMQError`` for real failures (e.g. the socket type cannot send).
    @discardableResult
    public func send(_ message: Message, timeout: Duration? = nil) throws(ZeroMQError) -> SendResult {
        try send(message.parts.map(OutgoingPart.bytes), timeout: timeout)
    }

    /// Sends a multipart message given as parts that may be lent (``OutgoingPart/lent(_:owner:)``):
    /// as ``send(_:timeout:)-(Message,_)``, without copying lent parts or long arrays.
    @discardableResult
    public func send(_ parts: [OutgoingPart], timeout: Duration? = nil) throws(ZeroMQError) -> SendResult {
        precondition(!parts.isEmpty, "a ZeroMQ message has at least one part")
        var flags: Int32 = 0
        if let timeout {
            if timeout > .zero {
                switch try poll(ZMQ_POLLOUT, timeout: timeout) {
                case .ready: break
                case .timedOut: return .wouldBlock
                case .terminated: return .terminated
                }
            }
            flags = ZMQ_DONTWAIT
        }
        let last = parts.count - 1
        for (i, part) in parts.enumerated() {
            let partFlags = i == last ? flags : flags | ZMQ_SNDMORE
            while true {
                let rc: Int32
                switch part {
                case .bytes(let bytes) where bytes.count >= Self.zeroCopyBytes:
                    let box = LentBytes(bytes)
                    rc = box.bytes.withUnsafeBytes { Self.sendWithoutCopy($0, owner: box, open, partFlags) }
                case .bytes(let bytes):
                    rc = bytes.withUnsafeBytes { zmq_send(open, $0.baseAddress, $0.count, partFlags) }
                case .lent(let region, let owner):
                    rc = Self.sendWithoutCopy(region, owner: owner, open, partFlags)
                }
                if rc >= 0 { break }
                let errno = zmq_errno()
                if errno == CZeroMQ_EINTR() { continue }
                // libzmq checks the high-water mark on the first part only, so a later part
                // never reports EAGAIN once the first is queued.
                if errno == CZeroMQ_EAGAIN() { return .wouldBlock }
                if errno == CZeroMQ_ETERM() { return .terminated }
                throw ZeroMQError(operation: "zmq_send", errno: errno)
            }
        }
        return .sent
    }

    /// Parts at least this long are handed to libzmq without a copy (``sendWithoutCopy``) and
    /// received without one (``receiveParts(timeout:)``); shorter ones are copied, which is
    /// cheaper than the bookkeeping.
    public static let zeroCopyBytes = 64 * 1024

    /// Sends one part by lending libzmq `region` (`zmq_msg_init_data`) instead of letting
    /// `zmq_send` copy it: `owner` is retained until libzmq's I/O thread has written the bytes
    /// and calls the free function. Returns what `zmq_msg_send` returns; a message libzmq did
    /// not take is closed here, which releases `owner`.
    private static func sendWithoutCopy(
        _ region: UnsafeRawBufferPointer, owner: AnyObject, _ socket: UnsafeMutableRawPointer, _ flags: Int32
    ) -> Int32 {
        guard let base = region.baseAddress, region.count > 0 else { return zmq_send(socket, nil, 0, flags) }
        let retained = Unmanaged.passRetained(owner)
        var msg = zmq_msg_t()
        let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
            if let hint { Unmanaged<AnyObject>.fromOpaque(hint).release() }
        }
        guard
            zmq_msg_init_data(&msg, UnsafeMutableRawPointer(mutating: base), region.count, release, retained.toOpaque())
                == 0
        else {
            retained.release()
            return -1
        }
        let rc = zmq_msg_send(&msg, socket, flags)
        if rc < 0 { zmq_msg_close(&msg) }
        return rc
    }

    /// Sends a multipart message given as its parts.
    @discardableResult
    public func send(parts: [[UInt8]], timeout: Duration? = nil) throws(ZeroMQError) -> SendResult {
        try send(Message(parts: parts), timeout: timeout)
    }

    /// Receives one complete multipart message (`zmq_msg_recv`, `zmq_msg_more`).
    ///
    /// - Parameter timeout: `nil` blocks (or honours ``setReceiveTimeout(_:)``), `.zero`
    ///   returns at once, a positive value waits at most that long.
    /// - Returns: `.message`, `.timedOut` or `.terminated` (after ``Context/shutdown()``).
    /// - Throws: ``ZeroMQError`` for real failures (e.g. the socket type cannot receive).
    public func receive(timeout: Duration? = nil) throws(ZeroMQError) -> ReceiveResult {
        let got = try receive(timeout: timeout) { msg -> [UInt8] in
            let size = zmq_msg_size(&msg)
            guard size > 0, let data = zmq_msg_data(&msg) else { return [] }
            return Array(UnsafeRawBufferPointer(start: data, count: size))
        }
        switch got {
        case .parts(let parts): return .message(Message(parts: parts))
        case .timedOut: return .timedOut
        case .terminated: return .terminated
        }
    }

    /// Receives one complete multipart message as ``receive(timeout:)`` does, but leaves each
    /// part of at least ``zeroCopyBytes`` in the buffer libzmq received it into (no copy).
    public func receiveParts(timeout: Duration? = nil) throws(ZeroMQError) -> PartsReceiveResult {
        let got = try receive(timeout: timeout) { msg -> ReceivedPart in
            let size = zmq_msg_size(&msg)
            if size >= Self.zeroCopyBytes { return ReceivedPart(buffer: ReceivedBuffer(moving: &msg)) }
            guard size > 0, let data = zmq_msg_data(&msg) else { return ReceivedPart(bytes: []) }
            return ReceivedPart(bytes: Array(UnsafeRawBufferPointer(start: data, count: size)))
        }
        switch got {
        case .parts(let parts): return .parts(parts)
        case .timedOut: return .timedOut
        case .terminated: return .terminated
        }
    }

    private enum Received<Part> {
        case parts([Part])
        case timedOut
        case terminated
    }

    /// The receive loop behind both forms: `take` turns each received part into `Part` (it may
    /// move the message out; what is left is closed here).
    private func receive<Part>(
        timeout: Duration?, take: (inout zmq_msg_t) -> Part
    ) throws(ZeroMQError) -> Received<Part> {
        var flags: Int32 = 0
        if let timeout {
            if timeout > .zero {
                switch try poll(ZMQ_POLLIN, timeout: timeout) {
                case .ready: break
                case .timedOut: return .timedOut
                case .terminated: return .terminated
                }
            }
            flags = ZMQ_DONTWAIT
        }
        var parts: [Part] = []
        var msg = zmq_msg_t()
        while true {
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            // Later parts of a multipart message are already here (delivery is atomic).
            let rc = zmq_msg_recv(&msg, open, parts.isEmpty ? flags : 0)
            if rc < 0 {
                let errno = zmq_errno()
                if errno == CZeroMQ_EINTR() { continue }
                if errno == CZeroMQ_EAGAIN() && parts.isEmpty { return .timedOut }
                if errno == CZeroMQ_ETERM() { return .terminated }
                throw ZeroMQError(operation: "zmq_msg_recv", errno: errno)
            }
            // Read before `take`, which may move the message out.
            let more = zmq_msg_more(&msg) != 0
            parts.append(take(&msg))
            if !more { break }
        }
        return .parts(parts)
    }

    /// What ``waitForInput(orWakeup:timeout:)`` saw.
    public struct Readiness: Sendable, Equatable {
        /// A message can be received.
        public var readable: Bool
        /// ``Wakeup/signal()`` was called (the signal is cleared).
        public var woken: Bool
        /// The context was shut down.
        public var terminated: Bool
    }

    /// Waits at most `timeout` until a message can be received or `wakeup` is signalled
    /// (`zmq_poll` on the socket and the wake-up's descriptor); a signal is cleared here.
    public func waitForInput(orWakeup wakeup: Wakeup, timeout: Duration) throws(ZeroMQError) -> Readiness {
        var items = [
            zmq_pollitem_t(socket: open, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
            zmq_pollitem_t(socket: nil, fd: wakeup.fd, events: Int16(ZMQ_POLLIN), revents: 0),
        ]
        let rc = zmq_poll(&items, 2, Self.milliseconds(timeout))
        if rc < 0 {
            let errno = zmq_errno()
            if errno == CZeroMQ_EINTR() { return Readiness(readable: false, woken: false, terminated: false) }
            if errno == CZeroMQ_ETERM() { return Readiness(readable: false, woken: false, terminated: true) }
            throw ZeroMQError(operation: "zmq_poll", errno: errno)
        }
        let woken = items[1].revents & Int16(ZMQ_POLLIN) != 0
        if woken { wakeup.drain() }
        return Readiness(readable: items[0].revents & Int16(ZMQ_POLLIN) != 0, woken: woken, terminated: false)
    }

    private enum PollOutcome { case ready, timedOut, terminated }

    private func poll(_ events: Int32, timeout: Duration) throws(ZeroMQError) -> PollOutcome {
        var item = zmq_pollitem_t(socket: open, fd: 0, events: Int16(events), revents: 0)
        while true {
            let rc = zmq_poll(&item, 1, Self.milliseconds(timeout))
            if rc > 0 { return .ready }
            if rc == 0 { return .timedOut }
            let errno = zmq_errno()
            // A signal interrupts the wait; report a timeout rather than waiting again for the
            // full period.
            if errno == CZeroMQ_EINTR() { return .timedOut }
            if errno == CZeroMQ_ETERM() { return .terminated }
            throw ZeroMQError(operation: "zmq_poll", errno: errno)
        }
    }
}

/// An array lent to libzmq for a zero-copy send; released by libzmq's free callback. The
/// array is immutable in the box, so its contiguous storage stays where it is.
private final class LentBytes: Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}
