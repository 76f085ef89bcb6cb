internal import CZeroMQ
import Foundation
import Synchronization

/// CurveZMQ keys (libzmq's built-in authentication and encryption), in Z85 text: 40
/// characters for a 32-byte key.
public enum Curve {
    /// Whether this libzmq was built with CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// A new key pair (`zmq_curve_keypair`).
    public static func keyPair() throws(ZeroMQError) -> (publicKey: String, secretKey: String) {
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZeroMQError.last("zmq_curve_keypair") }
        return (string(pub), string(sec))
    }

    /// The public key of a secret key (`zmq_curve_public`).
    public static func publicKey(secretKey: String) throws(ZeroMQError) -> String {
        let secret = try checked(secretKey, "secret key")
        var pub = [CChar](repeating: 0, count: 41)
        let rc = secret.withUnsafeBufferPointer { s in
            s.withMemoryRebound(to: CChar.self) { zmq_curve_public(&pub, $0.baseAddress) }
        }
        guard rc == 0 else { throw ZeroMQError.last("zmq_curve_public") }
        return string(pub)
    }

    /// The 32 bytes of a Z85 key, or nil when it is not one (`zmq_z85_decode`).
    public static func decode(_ key: String) -> [UInt8]? {
        guard key.utf8.count == 40, key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&out, key) != nil else { return nil }
        return out
    }

    /// A key as the socket option wants it (40 characters and a NUL), checked.
    static func checked(_ key: String, _ what: String) throws(ZeroMQError) -> [UInt8] {
        guard decode(key) != nil else {
            throw ZeroMQError(operation: "CURVE \(what)", errno: 22, message: "not a 40-character Z85 key")
        }
        return Array(key.utf8) + [0]
    }

    private static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A socket's part in CurveZMQ (all keys Z85).
public enum CurveRole: Sendable, Equatable {
    /// Serves with `secretKey`; only clients whose public key is in `allowed` get in.
    case server(secretKey: String, allowed: [String])
    /// Connects to the server with public key `serverKey`, with this side's `secretKey`.
    case client(serverKey: String, secretKey: String)
}

/// A ZAP handler (ZeroMQ RFC 27) that accepts CURVE clients whose public key is in an
/// allowed set and refuses the others, counting both. It serves one context: start it
/// before the server socket binds, on the same ``Context``.
public final class ZAPHandler: Sendable {
    private let box = Box()
    private let finished = DispatchSemaphore(value: 0)

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private struct State {
        var stopping = false
        var accepted = 0
        var refused = 0
    }

    /// Starts the handler's thread; `allowed` are the clients' public keys (Z85).
    /// `onFirstRefusal` runs once, on the handler's thread, when the first client is refused
    /// (later ones are only counted).
    public init(
        context: Context, allowed: [String], onFirstRefusal: @escaping @Sendable () -> Void = {}
    ) throws(ZeroMQError) {
        let keys = Set(allowed.compactMap(Curve.decode))
        let socket = try Socket(context, type: .rep)
        try socket.bind("inproc://zeromq.zap.01")
        nonisolated(unsafe) let owned = socket
        let box = self.box
        let finished = self.finished
        let thread = Thread {
            defer {
                owned.close()
                finished.signal()
            }
            while !box.state.withLock({ $0.stopping }) {
                guard case .message(let m)? = try? owned.receive(timeout: .milliseconds(20)) else { continue }
                // version, request id, domain, address, routing id, mechanism, credentials...
                let p = m.parts
                guard p.count >= 6 else { continue }
                let ok = p.count >= 7 && String(decoding: p[5], as: UTF8.self) == "CURVE" && keys.contains(p[6])
                let first = box.state.withLock { s -> Bool in
                    if ok { s.accepted += 1 } else { s.refused += 1 }
                    return !ok && s.refused == 1
                }
                if first { onFirstRefusal() }
                _ = try? owned.send(
                    parts: [
                        Array("1.0".utf8), p[1], Array((ok ? "200" : "400").utf8),
                        Array((ok ? "OK" : "unknown client key").utf8), [], [],
                    ])
            }
        }
        thread.name = "zap"
        thread.start()
    }

    /// Clients accepted and refused so far.
    public var counts: (accepted: Int, refused: Int) { box.state.withLock { ($0.accepted, $0.refused) } }

    /// Ends the handler.
    public func stop() {
        box.state.withLock { $0.stopping = true }
        finished.wait()
        finished.signal()
    }
}
