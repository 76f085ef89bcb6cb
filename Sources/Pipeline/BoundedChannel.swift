import Foundation

/// What a full channel does with a new item.
public enum OverflowPolicy: String, Sendable, CaseIterable {
    /// The sender waits for room (backpressure): nothing is ever dropped. The default.
    case block
    /// The oldest queued item is dropped to make room (a leaky queue for live sources).
    case dropOldest = "drop-oldest"
    /// The new item is dropped.
    case dropNewest = "drop-newest"
}

/// Counters of one channel, for metrics.
public struct ChannelStatistics: Sendable, Equatable {
    /// Items accepted into the queue.
    public var accepted = 0
    /// Items dropped by the overflow policy.
    public var dropped = 0
    /// Items handed to the receiver.
    public var delivered = 0
    /// Items queued now.
    public var depth = 0
    /// The largest depth seen.
    public var maxDepth = 0
}

/// A bounded multi-producer, single-consumer async channel with an overflow policy.
///
/// State lives in a value-type state machine behind a lock; each operation returns an action
/// that is carried out (resuming continuations) after unlocking. Items are held in a ring
/// buffer, so an item dropped by `drop-oldest` is released at once (memory stays flat at any
/// drop rate). Both `send` and `receive` end when their task is cancelled.
public final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every stored mutable state is in `state`, touched only
    // while holding `lock`; continuations are resumed after unlocking.
    private let lock = NSLock()
    private var state: StateMachine
    /// Capacity (at least 1).
    public let capacity: Int
    /// Overflow policy.
    public let policy: OverflowPolicy

    /// Creates a channel.
    public init(capacity: Int, policy: OverflowPolicy = .block) {
        precondition(capacity >= 1, "channel capacity must be at least 1")
        self.capacity = capacity
        self.policy = policy
        state = StateMachine(capacity: capacity, policy: policy)
    }

    /// The counters now.
    public var statistics: ChannelStatistics {
        lock.withLock { state.stats }
    }

    /// Sends an item: waits while full under `block`; drops by policy otherwise.
    /// - Returns: false when the channel is finished or the task was cancelled while waiting
    ///   (the item is discarded).
    @discardableResult
    public func send(_ element: Element) async -> Bool {
        while true {
            let action = lock.withLock { state.send(element) }
            switch action {
            case .resume(let receiver, let value):
                receiver.resume(returning: value)
                return true
            case .done(let ok):
                return ok
            case .wait:
                if Task.isCancelled { return false }
                // Wait for room (or cancellation), then try again.
                let token = lock.withLock { state.nextToken() }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let immediate = lock.withLock { state.parkSender(c, token: token) }
                        if immediate { c.resume() }
                    }
                } onCancel: {
                    lock.withLock { state.cancelSender(token: token) }?.resume()
                }
                if Task.isCancelled { return false }
            }
        }
    }

    /// Receives the next item, or nil once the channel is finished and empty (or when the
    /// task is cancelled).
    public func receive() async -> Element? {
        if Task.isCancelled { return nil }
        let action = lock.withLock { state.receive() }
        switch action {
        case .value(let v, let sender):
            sender?.resume()
            return v
        case .end:
            return nil
        case .wait:
            let token = lock.withLock { state.nextToken() }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                    let result = lock.withLock { state.parkReceiver(c, token: token) }
                    switch result {
                    case .parked(let sender): sender?.resume()
                    case .value(let v, let sender):
                        sender?.resume()
                        c.resume(returning: v)
                    case .end:
                        c.resume(returning: nil)
                    }
                }
            } onCancel: {
                lock.withLock { state.cancelReceiver(token: token) }?.resume(returning: nil)
            }
        }
    }

    /// Ends the stream: the receiver gets what is queued, then nil; later sends are discarded.
    public func finish() {
        let (receiver, senders) = lock.withLock { state.finish() }
        receiver?.resume(returning: nil)
        for s in senders { s.resume() }
    }

    struct StateMachine {
        let capacity: Int
        let policy: OverflowPolicy
        /// Ring buffer: `count` items from `head`, growing by doubling up to `capacity`.
        var ring: [Element?] = []
        var head = 0
        var count = 0
        var finished = false
        var receiver: (token: UInt64, continuation: CheckedContinuation<Element?, Never>)?
        var senders: [(token: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        /// Tokens cancelled before their continuation was parked.
        var cancelledEarly: Set<UInt64> = []
        var tokens: UInt64 = 0
        var stats = ChannelStatistics()

        init(capacity: Int, policy: OverflowPolicy) {
            self.capacity = capacity
            self.policy = policy
        }

        mutating func nextToken() -> UInt64 {
            tokens &+= 1
            return tokens
        }

        enum SendAction {
            case resume(CheckedContinuation<Element?, Never>, Element)
            case done(Bool)
            case wait
        }

        mutating func push(_ element: Element) {
            if count == ring.count {
                // Grow (only below capacity): unroll into a larger ring.
                let grown = min(capacity, max(4, ring.count * 2))
                var next = [Element?](repeating: nil, count: grown)
                for i in 0..<count { next[i] = ring[(head + i) % ring.count] }
                ring = next
                head = 0
            }
            ring[(head + count) % ring.count] = element
            count += 1
        }

        mutating func pop() -> Element {
            let v = ring[head]!
            ring[head] = nil  // released now, not at some later compaction
            head = (head + 1) % ring.count
            count -= 1
            return v
        }

        mutating func send(_ element: Element) -> SendAction {
            if finished { return .done(false) }
            if let r = receiver {
                receiver = nil
                stats.accepted += 1
                stats.delivered += 1
                return .resume(r.continuation, element)
            }
            if count >= capacity {
                switch policy {
                case .block: return .wait
                case .dropNewest:
                    stats.dropped += 1
                    return .done(true)
                case .dropOldest:
                    _ = pop()
                    stats.dropped += 1
                }
            }
            push(element)
            stats.accepted += 1
            stats.depth = count
            stats.maxDepth = max(stats.maxDepth, count)
            return .done(true)
        }

        /// Parks a sender unless room (or the end, or its cancellation) came meanwhile.
        mutating func parkSender(_ c: CheckedContinuation<Void, Never>, token: UInt64) -> Bool {
            if cancelledEarly.remove(token) != nil { return true }
            if finished || count < capacity || receiver != nil { return true }
            senders.append((token, c))
            return false
        }

        mutating func cancelSender(token: UInt64) -> CheckedContinuation<Void, Never>? {
            if let i = senders.firstIndex(where: { $0.token == token }) { return senders.remove(at: i).continuation }
            cancelledEarly.insert(token)
            return nil
        }

        enum ReceiveAction {
            case value(Element, CheckedContinuation<Void, Never>?)
            case end
            case wait
        }

        mutating func receive() -> ReceiveAction {
            if count > 0 {
                let v = pop()
                stats.delivered += 1
                stats.depth = count
                let sender = senders.isEmpty ? nil : senders.removeFirst().continuation
                return .value(v, sender)
            }
            return finished ? .end : .wait
        }

        enum ParkResult {
            /// Parked; a blocked sender to wake so that it hands its item over directly.
            case parked(CheckedContinuation<Void, Never>?)
            case value(Element, CheckedContinuation<Void, Never>?)
            case end
        }

        mutating func parkReceiver(_ c: CheckedContinuation<Element?, Never>, token: UInt64) -> ParkResult {
            if cancelledEarly.remove(token) != nil { return .end }
            switch receive() {
            case .value(let v, let s): return .value(v, s)
            case .end: return .end
            case .wait:
                precondition(receiver == nil, "BoundedChannel has a single consumer")
                receiver = (token, c)
                // The queue is empty: a sender still parked from when it was full must not wait
                // for a receive that only its own item can satisfy.
                return .parked(senders.isEmpty ? nil : senders.removeFirst().continuation)
            }
        }

        mutating func cancelReceiver(token: UInt64) -> CheckedContinuation<Element?, Never>? {
            if let r = receiver, r.token == token {
                receiver = nil
                return r.continuation
            }
            // Not parked yet (or already resumed, in which case the token is never used again).
            cancelledEarly.insert(token)
            return nil
        }

        mutating func finish() -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) {
            finished = true
            let r = count == 0 ? receiver?.continuation : nil
            if r != nil { receiver = nil }
            let s = senders.map(\.continuation)
            senders = []
            return (r, s)
        }
    }
}
