import Foundation
import WireProtocol
import ZeroMQ

/// What the coordinator hands back to the `remote-deblur` stage.
enum CoordinatorEvent: Sendable {
    /// Job `id` finished on a worker.
    /// The outputs stay in the received parts (checked) until the stage copies them into its
    /// feature maps.
    case done(ResultView)
    /// Job `id` waited with no worker connected for the fallback delay: run it locally.
    case runLocally(id: UInt64)
}

/// Per-worker counters, reported in the stage's metrics.
struct WorkerStats: Sendable {
    var frames = 0
    var failures = 0
    var busy: Duration = .zero
    var latencies: [Duration] = []
}

/// The coordinator of a worker farm: a ROUTER socket owned by one thread that hands each job
/// to a connected worker with free credit, re-dispatches the jobs of lost, late or failing
/// workers, refuses workers whose model differs and discards late duplicates. The stage's
/// task submits jobs and awaits events; it never blocks on the socket.
final class WorkCoordinator: @unchecked Sendable {
    struct Configuration: Sendable {
        /// The stage's name, for log lines.
        var name = "remote-deblur"
        var endpoint: String
        var identity: WorkerIdentity
        /// Most jobs in flight per worker (a worker's own credit may be lower).
        var credit: Int
        /// A job not answered within this is given to another worker.
        var deadline: Duration
        /// A worker silent for three of these is lost.
        var heartbeat: Duration
        /// Jobs waiting this long with no worker connected come back to run locally (nil: wait).
        var fallbackAfter: Duration?
        /// CurveZMQ: this server's secret key and the public keys of the accepted workers.
        var curve: (secretKey: String, allowed: [String])?
    }

    private struct Worker {
        let routingID: [UInt8]
        let number: Int
        var credit: Int
        var inFlight: Set<UInt64> = []
        var lastSeen: ContinuousClock.Instant
    }

    private struct Job {
        var parts: [OutgoingPart]
        var queuedAt: ContinuousClock.Instant
        var worker: [UInt8]?
        var sentAt: ContinuousClock.Instant?
    }

    // Invariant for @unchecked Sendable: `submitted`, `stopping`, `workerCount` and the
    // counters are only touched under `lock`; everything else is owned by the socket thread.
    private let lock = NSLock()
    private var submitted: [(UInt64, [OutgoingPart])] = []
    private var stopping = false
    private var connected = 0
    private var counters: [String: Int] = [:]
    private var perWorker: [Int: WorkerStats] = [:]
    /// CPU time the socket thread has used since it started (nanoseconds).
    private var threadCPU = 0

    let events = ThreadBridge<CoordinatorEvent>(capacity: 1 << 20, blocking: false)
    let configuration: Configuration
    /// The endpoint actually bound (with the real port for `:*`).
    let endpoint: String
    private let context: ZeroMQ.Context
    private let finished = DispatchSemaphore(value: 0)
    private let zap: ZAPHandler?
    /// Wakes the socket thread when the stage submits a job or stops it.
    private let wakeup: Wakeup

    /// Binds and starts the socket thread.
    init(_ configuration: Configuration) throws {
        FreedMemory.keep
        self.configuration = configuration
        let context = try ZeroMQ.Context()
        self.context = context
        if let curve = configuration.curve {
            guard Curve.isAvailable else { throw StageError("\(configuration.name): this libzmq has no CURVE support") }
            let name = configuration.name
            zap = try ZAPHandler(context: context, allowed: curve.allowed) {
                FileHandle.standardError.write(
                    Data("\(name): refused a worker whose key is not authorised (further ones are counted)\n".utf8))
            }
        } else {
            zap = nil
        }
        wakeup = try Wakeup()
        let socket = try Socket(context, type: .router)
        try socket.setLinger(.zero)
        if let curve = configuration.curve { try socket.setCurveServer(secretKey: curve.secretKey) }
        try socket.bind(configuration.endpoint)
        endpoint = try socket.lastEndpoint()
        // The socket moves to its thread here and is touched by nothing else from now on.
        nonisolated(unsafe) let owned = socket
        let thread = Thread { [self] in
            loop(owned)
            owned.close()
            finished.signal()
        }
        thread.name = "remote-deblur"
        thread.start()
    }

    /// Queues a job (its encoded parts, which may lend the stage's memory); returns at once.
    func submit(id: UInt64, parts: [OutgoingPart]) {
        lock.withLock { submitted.append((id, parts)) }
        wakeup.signal()
    }

    /// Workers connected and accepted now.
    var workerCount: Int { lock.withLock { connected } }

    /// Counters so far (redispatches, refusals, duplicates, ...), and per-worker statistics.
    var report: (counters: [String: Int], workers: [Int: WorkerStats]) {
        var c = lock.withLock { counters }
        if let zap { c["curve-refused"] = zap.counts.refused }
        return (c, lock.withLock { perWorker })
    }

    /// CPU time the socket thread has used so far (receiving, decoding, dispatching, sending),
    /// in nanoseconds; updated once per loop tick.
    var socketThreadCPUNanoseconds: Int { lock.withLock { threadCPU } }

    /// Ends the socket thread and waits for it.
    func stop() {
        lock.withLock { stopping = true }
        wakeup.signal()
        finished.wait()
        finished.signal()
        zap?.stop()
        events.finish()
    }

    private func count(_ name: String, by n: Int = 1) { lock.withLock { counters[name, default: 0] += n } }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data("\(configuration.name): \(line)\n".utf8))
    }

    /// How long the socket thread sleeps when nothing happens: a quarter of the shortest timer
    /// it keeps (heartbeats, deadlines, and the local fallback while jobs wait with no worker),
    /// at most 50 ms and at least 1 ms. Messages and submitted jobs wake it at once.
    private func tick(waitingForFallback: Bool) -> Duration {
        var shortest = min(configuration.heartbeat, configuration.deadline)
        if waitingForFallback, let after = configuration.fallbackAfter { shortest = min(shortest, after) }
        return max(.milliseconds(1), min(.milliseconds(50), shortest / 4))
    }

    private func loop(_ socket: Socket) {
        var workers: [[UInt8]: Worker] = [:]
        var jobs: [UInt64: Job] = [:]
        var queue: [UInt64] = []
        var numbers = 0
        var lastBeat = ContinuousClock.now
        let clock = ContinuousClock()
        let cpuStart = ThreadCPUTime.nanoseconds()
        defer {
            let used = ThreadCPUTime.nanoseconds() - cpuStart
            lock.withLock { threadCPU = used }
        }

        func dropWorker(_ id: [UInt8], cause: String) {
            guard let w = workers.removeValue(forKey: id) else { return }
            count(cause)
            log(
                "worker \(w.number) \(cause == "lost-workers" ? "lost" : "dropped (malformed)"); \(w.inFlight.count) frames re-dispatched"
            )
            for j in w.inFlight.sorted() where jobs[j] != nil {
                jobs[j]?.worker = nil
                jobs[j]?.sentAt = nil
                queue.insert(j, at: 0)
                count("redispatched")
            }
            lock.withLock { connected = workers.count }
        }

        func accept(_ result: ResultView, from: [UInt8]) {
            let id = result.id, now = clock.now
            workers[from]?.lastSeen = now
            workers[from]?.inFlight.remove(id)
            guard let job = jobs.removeValue(forKey: id) else {
                count("duplicates-discarded")
                return
            }
            queue.removeAll { $0 == id }
            if let other = job.worker, other != from { workers[other]?.inFlight.remove(id) }
            if let w = workers[from] {
                let took = job.sentAt.map { now - $0 } ?? .zero
                lock.withLock {
                    perWorker[w.number, default: WorkerStats()].frames += 1
                    perWorker[w.number, default: WorkerStats()].busy += took
                    perWorker[w.number, default: WorkerStats()].latencies.append(took)
                }
            }
            events.put(.done(result))
        }

        while true {
            let used = ThreadCPUTime.nanoseconds() - cpuStart
            if lock.withLock({
                threadCPU = used
                return stopping
            }) {
                return
            }
            // Sleep until a message arrives, the stage submits a job or stops the loop (the
            // wake-up), or the timers are due; then receive everything waiting.
            let waitingForFallback = workers.isEmpty && !queue.isEmpty
            _ = try? socket.waitForInput(orWakeup: wakeup, timeout: tick(waitingForFallback: waitingForFallback))
            while case .parts(let parts)? = try? socket.receiveParts(timeout: .zero) {
                guard parts.count >= 2 else { continue }
                let from = parts[0].bytes
                let decoded: WorkMessage
                do {
                    let body = parts.dropFirst()
                    // A result's planes are checked here and stay in libzmq's buffers, which
                    // the stage's feature maps then adopt (no copy).
                    if let result = try WorkMessage.resultView(parts: body.map { $0 as any WireBytes }) {
                        accept(result, from: from)
                        continue
                    }
                    decoded = try WorkMessage(parts: body.map(\.bytes))
                } catch {
                    if workers[from] != nil {
                        _ = try? socket.send(
                            parts: [from] + WorkMessage.refused(reason: "\(error)").encoded(), timeout: .zero)
                        dropWorker(from, cause: "malformed-workers")
                    } else {
                        count("malformed-messages")
                    }
                    continue
                }
                let now = clock.now
                switch decoded {
                case .ready(let identity, let credit):
                    guard identity == configuration.identity else {
                        count("refused-workers")
                        log("refused a worker: it runs \(identity), this pipeline \(configuration.identity)")
                        _ = try? socket.send(
                            parts: [from]
                                + WorkMessage.refused(
                                    reason: "this pipeline runs \(configuration.identity), the worker runs \(identity)"
                                ).encoded(), timeout: .zero)
                        continue
                    }
                    if workers[from] == nil {
                        numbers += 1
                        workers[from] = Worker(
                            routingID: from, number: numbers, credit: min(credit, configuration.credit), lastSeen: now)
                        lock.withLock {
                            connected = workers.count
                            perWorker[numbers] = perWorker[numbers] ?? WorkerStats()
                        }
                        log("worker \(numbers) joined (credit \(min(credit, configuration.credit)))")
                    }
                    workers[from]?.lastSeen = now
                case .heartbeat:
                    workers[from]?.lastSeen = now
                case .result:
                    continue  // handled above, through its view
                case .failed(let id, _):
                    workers[from]?.lastSeen = now
                    workers[from]?.inFlight.remove(id)
                    if let n = workers[from]?.number {
                        lock.withLock { perWorker[n, default: WorkerStats()].failures += 1 }
                    }
                    if jobs[id] != nil {
                        jobs[id]?.worker = nil
                        jobs[id]?.sentAt = nil
                        queue.insert(id, at: 0)
                        count("redispatched")
                    }
                case .job, .refused:
                    count("malformed-messages")
                }
            }
            // New jobs from the stage.
            let fresh = lock.withLock { () -> [(UInt64, [OutgoingPart])] in
                defer { submitted.removeAll() }
                return submitted
            }
            let now = clock.now
            for (id, parts) in fresh {
                jobs[id] = Job(parts: parts, queuedAt: now)
                queue.append(id)
            }
            // Lost workers (silent for three heartbeats) and late jobs.
            for (id, w) in workers where now - w.lastSeen > configuration.heartbeat * 3 {
                dropWorker(id, cause: "lost-workers")
            }
            for (id, job) in jobs {
                guard let sent = job.sentAt, let owner = job.worker, now - sent > configuration.deadline else {
                    continue
                }
                workers[owner]?.inFlight.remove(id)
                jobs[id]?.worker = nil
                jobs[id]?.sentAt = nil
                queue.insert(id, at: 0)
                count("redispatched")
                count("deadline-expired")
            }
            // No worker: hand old jobs back for local deblurring.
            if workers.isEmpty, let after = configuration.fallbackAfter {
                for id in queue where jobs[id].map({ now - $0.queuedAt > after }) ?? false {
                    jobs[id] = nil
                    // Counted before the stage hears of it: the stage reads the counters as
                    // soon as its last frame is out.
                    count("local-fallback")
                    events.put(.runLocally(id: id))
                }
                queue.removeAll { jobs[$0] == nil }
            }
            // Dispatch to the least loaded worker with credit.
            while let id = queue.first {
                guard jobs[id] != nil else {
                    queue.removeFirst()
                    continue
                }
                guard
                    let (routing, _) = workers.filter({ $0.value.inFlight.count < $0.value.credit })
                        .min(by: { $0.value.inFlight.count < $1.value.inFlight.count })
                else { break }
                queue.removeFirst()
                guard let job = jobs[id] else { continue }
                let sent = (try? socket.send([.bytes(routing)] + job.parts, timeout: .milliseconds(100))) ?? .wouldBlock
                guard case .sent = sent else {
                    queue.insert(id, at: 0)
                    dropWorker(routing, cause: "lost-workers")
                    continue
                }
                jobs[id]?.worker = routing
                jobs[id]?.sentAt = clock.now
                workers[routing]?.inFlight.insert(id)
            }
            if now - lastBeat > configuration.heartbeat {
                lastBeat = now
                for id in workers.keys {
                    _ = try? socket.send(parts: [id] + WorkMessage.heartbeat.encoded(), timeout: .zero)
                }
            }
        }
    }
}

/// Received parts are checked and read where libzmq put them.
extension ReceivedPart: WireBytes {}
