import Dispatch
import Foundation
import Synchronization

/// A receiving socket served by its own thread, handing each message to a callback.
///
/// The socket is created, used and closed on the loop's thread (a socket belongs to one
/// thread). The loop ends when the handler returns ``Action/stop``, when ``stop()`` is
/// called, or when the context is shut down.
public final class ReceiveLoop: Sendable {
    /// Whether the socket binds or connects.
    public enum Attach: Sendable, Equatable {
        /// `zmq_bind`; use `tcp://127.0.0.1:*` for an ephemeral port (see ``ReceiveLoop/endpoint``).
        case bind(String)
        /// `zmq_connect`.
        case connect(String)
    }

    /// What the handler wants next.
    public enum Action: Sendable {
        /// Keep receiving.
        case `continue`
        /// End the loop and close the socket.
        case stop
    }

    /// The socket settings of a loop.
    public struct Configuration: Sendable {
        /// `.pull` or `.sub` usually.
        public var socketType: SocketType
        /// Bind or connect, and where.
        public var attach: Attach
        /// `ZMQ_RCVHWM` in messages; nil keeps libzmq's default (1000).
        public var receiveHighWaterMark: Int?
        /// For SUB sockets: the prefixes to subscribe to (`ZMQ_SUBSCRIBE`); `[[]]` is everything.
        public var subscriptions: [[UInt8]]
        /// How often the loop checks ``ReceiveLoop/stop()`` while idle.
        public var pollInterval: Duration
        /// CurveZMQ, if used: as a server (with the accepted client keys, checked by a
        /// ``ZAPHandler`` on the loop's context) or as a client of a server's public key.
        public var curve: CurveRole?

        /// Creates a configuration.
        public init(
            socketType: SocketType = .pull, attach: Attach, receiveHighWaterMark: Int? = nil,
            subscriptions: [[UInt8]] = [[]], pollInterval: Duration = .milliseconds(50)
        ) {
            self.socketType = socketType
            self.attach = attach
            self.receiveHighWaterMark = receiveHighWaterMark
            self.curve = nil
            self.subscriptions = subscriptions
            self.pollInterval = pollInterval
        }
    }

    /// The endpoint the socket is attached to; for a bind, with the actual port.
    public let endpoint: String
    private let state: LoopState

    /// State shared between the loop thread and its controllers.
    private final class LoopState: Sendable {
        let stopRequested = Atomic(false)
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let setup = Mutex<Result<String, ZeroMQError>?>(nil)
        let failure = Mutex<ZeroMQError?>(nil)
    }

    /// Starts the thread, waits until the socket is bound or connected, then returns.
    /// - Parameters:
    ///   - context: the context; ``Context/shutdown()`` ends the loop too.
    ///   - configuration: socket settings.
    ///   - handler: called on the loop's thread for every message, in order.
    /// - Throws: ``ZeroMQError`` when the socket cannot be created, configured or attached.
    ///   - idle: called on the loop's thread after every poll interval without a message;
    ///     returning ``Action/stop`` ends the loop (shutdown and idleness checks).
    public init(
        context: Context, configuration: Configuration,
        idle: (@Sendable () -> Action)? = nil,
        handler: @escaping @Sendable (Message) -> Action
    ) throws(ZeroMQError) {
        let state = LoopState()
        // The loop thread owns the socket from creation to close.
        let thread = Thread {
            let socket: Socket
            do throws(ZeroMQError) {
                socket = try Socket(context, type: configuration.socketType)
                if let hwm = configuration.receiveHighWaterMark { try socket.setReceiveHighWaterMark(hwm) }
                switch configuration.curve {
                case .server(let secretKey, _)?: try socket.setCurveServer(secretKey: secretKey)
                case .client(let serverKey, let secretKey)?:
                    try socket.setCurveClient(
                        serverKey: serverKey, publicKey: try Curve.publicKey(secretKey: secretKey), secretKey: secretKey
                    )
                case nil: break
                }
                if configuration.socketType == .sub {
                    for prefix in configuration.subscriptions { try socket.subscribe(prefix: prefix) }
                }
                switch configuration.attach {
                case .bind(let endpoint):
                    try socket.bind(endpoint)
                    let actual = try socket.lastEndpoint()
                    state.setup.withLock { $0 = .success(actual) }
                case .connect(let endpoint):
                    try socket.connect(endpoint)
                    state.setup.withLock { $0 = .success(endpoint) }
                }
            } catch {
                state.setup.withLock { $0 = .failure(error) }
                state.ready.signal()
                state.finished.signal()
                return
            }
            state.ready.signal()
            defer {
                socket.close()
                state.finished.signal()
            }
            while !state.stopRequested.load(ordering: .relaxed) {
                let result: ReceiveResult
                do throws(ZeroMQError) {
                    result = try socket.receive(timeout: configuration.pollInterval)
                } catch {
                    state.failure.withLock { $0 = error }
                    return
                }
                switch result {
                case .message(let message):
                    if case .stop = handler(message) { return }
                case .timedOut:
                    if case .stop? = idle?() { return }
                case .terminated:
                    return
                }
            }
        }
        thread.name = "zmq-receive"
        thread.start()
        state.ready.wait()
        self.state = state
        let outcome = state.setup.withLock { $0 }
        switch outcome {
        case .success(let endpoint): self.endpoint = endpoint
        case .failure(let error): throw error
        case nil: preconditionFailure("receive loop signalled ready without a setup result")
        }
    }

    deinit {
        // Without an owner nobody can stop the loop any more: let it end at its next poll.
        state.stopRequested.store(true, ordering: .relaxed)
    }

    /// Asks the loop to end and waits until its socket is closed. Safe to call more than once.
    public func stop() {
        state.stopRequested.store(true, ordering: .relaxed)
        wait()
    }

    /// Waits until the loop has ended (handler returned `.stop`, ``stop()``, or shutdown).
    public func wait() {
        state.finished.wait()
        // Leave the semaphore signalled for any later wait().
        state.finished.signal()
    }

    /// Waits at most `timeout` for the loop to end; returns whether it ended.
    public func wait(timeout: Duration) -> Bool {
        let ns =
            Int(min(timeout.components.seconds, 1_000_000)) * 1_000_000_000
            + Int(timeout.components.attoseconds / 1_000_000_000)
        guard state.finished.wait(timeout: .now() + .nanoseconds(ns)) == .success else { return false }
        state.finished.signal()
        return true
    }

    /// The error that ended the loop, if a receive failed.
    public var error: ZeroMQError? { state.failure.withLock { $0 } }
}
