import Foundation

/// One event of a stage's merged inputs (see ``StageContext/withMergedInputs(_:tick:_:)``).
public enum InputEvent: Sendable {
    /// The next item of input `port`.
    case item(port: String, value: any Sendable)
    /// Input `port` ended (or is not connected); it sends nothing more.
    case ended(port: String)
    /// The periodic wake-up on the pipeline clock, when one was asked for.
    case tick
}

/// Several inputs of a stage merged into one stream of events, in arrival order.
///
/// Created by ``StageContext/withMergedInputs(_:tick:_:)``, which owns the reading tasks:
/// the stage only asks for the next event and, where it needs backpressure on one input,
/// holds that input (``hold(_:)``) until it can take more.
public final class MergedInputs: Sendable {
    let channel = BoundedChannel<InputEvent>(capacity: 1)
    let gates: [String: Gate]
    private let endedCount = Counter()
    private let portCount: Int

    init(ports: [String]) {
        gates = Dictionary(uniqueKeysWithValues: ports.map { ($0, Gate()) })
        portCount = ports.count
    }

    /// The next event, or nil once every input has ended (ticks stop then too).
    public func next() async -> InputEvent? {
        guard endedCount.value < portCount, let event = await channel.receive() else { return nil }
        if case .ended = event { endedCount.increment() }
        return event
    }

    /// Stops (true) or resumes (false) reading input `port`: while held, its items wait in
    /// the input's own channel, so its sender feels the backpressure (or its edge policy).
    public func hold(_ port: String, _ held: Bool) { gates[port]?.set(open: !held) }

    /// Whether every input has ended.
    public var allEnded: Bool { endedCount.value >= portCount }

    /// An open/closed latch that tasks wait on without polling.
    final class Gate: @unchecked Sendable {
        // Invariant for @unchecked Sendable: `open` and `waiters` are only touched under `lock`;
        // continuations are resumed after unlocking.
        private let lock = NSLock()
        private var open = true
        private var waiters: [(UInt64, CheckedContinuation<Void, Never>)] = []
        private var cancelled: Set<UInt64> = []
        private var tokens: UInt64 = 0

        func set(open value: Bool) {
            let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                open = value
                guard value else { return [] }
                defer { waiters = [] }
                return waiters.map(\.1)
            }
            for c in woken { c.resume() }
        }

        /// Returns once the gate is open, or when the task is cancelled.
        func waitOpen() async {
            let token = lock.withLock { () -> UInt64? in
                if open { return nil }
                tokens &+= 1
                return tokens
            }
            guard let token else { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = lock.withLock { () -> Bool in
                        if open || cancelled.remove(token) != nil { return true }
                        waiters.append((token, c))
                        return false
                    }
                    if now { c.resume() }
                }
            } onCancel: {
                let c = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                    if let i = waiters.firstIndex(where: { $0.0 == token }) { return waiters.remove(at: i).1 }
                    cancelled.insert(token)
                    return nil
                }
                c?.resume()
            }
        }
    }

    final class Counter: @unchecked Sendable {
        // Invariant for @unchecked Sendable: `count` is only touched under `lock`.
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }
}

extension StageContext {
    /// Runs `body` over the merged events of the inputs `ports`: one structured child task
    /// per input reads it and forwards its items (and its end), and with `tick` another wakes
    /// the body every `tick` of the pipeline clock. When `body` returns or throws, the
    /// readers are cancelled and awaited; an error from `body` propagates.
    public func withMergedInputs<R: Sendable>(
        _ ports: [String], tick: Duration? = nil, _ body: (MergedInputs) async throws -> R
    ) async throws -> R {
        let merged = MergedInputs(ports: ports)
        return try await withThrowingTaskGroup(of: Void.self, returning: R.self) { group in
            for port in ports {
                let channel = inputs[port]
                let gate = merged.gates[port]
                group.addTask {
                    if let channel {
                        while !Task.isCancelled {
                            await gate?.waitOpen()
                            guard !Task.isCancelled, let item = await channel.receive() else { break }
                            self.metrics.countIn()
                            guard await merged.channel.send(.item(port: port, value: item)) else { return }
                        }
                    }
                    if !Task.isCancelled { await merged.channel.send(.ended(port: port)) }
                }
            }
            if let tick, tick > .zero {
                group.addTask {
                    while !Task.isCancelled {
                        try await self.clock.sleep(until: self.clock.now() + tick)
                        guard await merged.channel.send(.tick) else { return }
                    }
                }
            }
            let result: Result<R, any Error>
            do { result = .success(try await body(merged)) } catch { result = .failure(error) }
            merged.channel.finish()
            group.cancelAll()
            while !group.isEmpty { _ = try? await group.next() }
            return try result.get()
        }
    }

    /// `item` as `T`, or the type-mismatch error naming this stage and `port`.
    public func value<T: Sendable>(_ item: any Sendable, port: String, as type: T.Type = T.self) throws -> T {
        guard let typed = item as? T else {
            throw PipelineError.typeMismatch(
                stage: name, port: port, expected: "\(T.self)", got: "\(Swift.type(of: item))")
        }
        return typed
    }
}
