import Deblur
import Foundation
import Tensor
import WireProtocol
import ZeroMQ

/// A farm worker: connects a DEALER socket to a `remote-deblur` coordinator, announces its
/// model and credit, deblurs the jobs it is given and returns the outputs (work protocol:
/// docs/protocol.md). The socket thread keeps heartbeats going while a separate compute
/// thread deblurs, so a long frame never looks like a lost worker.
public final class DeblurWorker: @unchecked Sendable {
    /// Why a worker stopped.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    // Invariant for @unchecked Sendable: `jobs`, `results`, `stopping`, `processed` and `wakeup` are only
    // touched while `condition` is locked; the socket is only used by the socket thread.
    private let condition = NSCondition()
    private var jobs: [(UInt64, DeblurInput)] = []
    /// Encoded messages to send (results are encoded on the compute thread).
    private var results: [[[UInt8]]] = []
    private var stopping = false
    private var processed = 0
    /// Wakes the socket thread when a result is ready or the worker stops (set by ``run``).
    private var wakeup: Wakeup?

    private let model: ResolvedModel
    private let identity: WorkerIdentity
    private let credit: Int
    private let serviceTime: Duration
    private let heartbeat: Duration

    /// A worker running `model` (announced with `precision`), accepting `credit` jobs at
    /// once; `serviceTime` adds a fixed time per frame (a stand-in worker for farm tests and
    /// scaling benchmarks).
    public init(
        model: ResolvedModel, precision: String, credit: Int = 2, serviceTime: Duration = .zero,
        heartbeat: Duration = .milliseconds(250)
    ) {
        self.model = model
        identity = WorkerIdentity(
            model: model.identity.name, weightsSHA256: model.identity.weightsSHA256, precision: precision)
        self.credit = credit
        self.serviceTime = serviceTime
        self.heartbeat = heartbeat
    }

    /// Frames deblurred so far.
    public var framesProcessed: Int { condition.withLock { processed } }

    /// Asks a running worker to stop (e.g. on SIGTERM).
    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
            wakeup?.signal()
        }
    }

    /// Connects to `endpoint` and serves jobs until ``stop()`` or until the coordinator refuses
    /// this worker (thrown, with the coordinator's reason).
    ///
    /// With `curve` (the server's public key and this worker's secret key, Z85), the
    /// connection is CurveZMQ-encrypted and the server decides whether it knows this worker.
    public func run(connect endpoint: String, curve: (serverKey: String, secretKey: String)? = nil) throws {
        FreedMemory.keep
        let context = try ZeroMQ.Context()
        let socket = try Socket(context, type: .dealer)
        try socket.setLinger(.milliseconds(1000))
        if let curve {
            try socket.setCurveClient(
                serverKey: curve.serverKey, publicKey: try Curve.publicKey(secretKey: curve.secretKey),
                secretKey: curve.secretKey)
        }
        try socket.connect(endpoint)
        let wakeup = try Wakeup()
        condition.withLock { self.wakeup = wakeup }
        let compute = Thread { [self] in computeLoop() }
        compute.name = "worker-compute"
        compute.start()
        defer {
            stop()
            socket.close()
        }
        let ready = WorkMessage.ready(identity, credit: credit).encoded()
        _ = try socket.send(parts: ready)
        var lastSent = ContinuousClock.now
        // Sleep until a job arrives, a result is ready or the worker stops (the wake-up), or
        // a heartbeat is due.
        let tick = max(.milliseconds(1), min(.milliseconds(50), heartbeat / 4))
        while !condition.withLock({ stopping }) {
            _ = try socket.waitForInput(orWakeup: wakeup, timeout: tick)
            while case .message(let message) = try socket.receive(timeout: .zero) {
                switch try? WorkMessage(parts: message.parts) {
                case .job(let id, let blur, let spikes, let tfi)?:
                    let input = DeblurInput(blur: blur.featureMap, spikes: spikes, tfi: tfi.isEmpty ? nil : tfi)
                    condition.withLock {
                        jobs.append((id, input))
                        condition.broadcast()
                    }
                case .refused(let reason)?:
                    throw Failure(description: "worker refused by the coordinator: \(reason)")
                default:
                    break
                }
            }
            let out = condition.withLock { () -> [[[UInt8]]] in
                defer { results.removeAll() }
                return results
            }
            for parts in out {
                _ = try socket.send(parts: parts)
                lastSent = .now
            }
            // `ready` doubles as the heartbeat, so a coordinator that lost us takes us back.
            if ContinuousClock.now - lastSent > heartbeat {
                _ = try socket.send(parts: ready, timeout: .zero)
                lastSent = .now
            }
        }
    }

    private func computeLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            let (id, input) = jobs.removeFirst()
            condition.unlock()
            let start = ContinuousClock.now
            let message: [[UInt8]]
            do {
                let r = try model.deblurrer.deblur(input)
                message = WorkMessage.resultParts(
                    id: id, sharp: EncodedPlanes(r.sharp), spikeRecon: r.spikeRecon.map(EncodedPlanes.init),
                    quickSharp: r.quickSharp.map(EncodedPlanes.init))
            } catch {
                message = WorkMessage.failed(id: id, reason: "\(error)").encoded()
            }
            let rest = serviceTime - (ContinuousClock.now - start)
            if rest > .zero {
                Thread.sleep(
                    forTimeInterval: Double(rest.components.attoseconds) / 1e18 + Double(rest.components.seconds))
            }
            condition.withLock {
                results.append(message)
                processed += 1
                wakeup?.signal()
            }
        }
    }
}
