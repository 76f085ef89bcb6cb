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
/// that is carried out (resuming continuations) after unlocking.
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
    /// - Returns: false when the channel is finished (the item is discarded).
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
                // Wait for room, then try again.
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let immediate = lock.withLock { state.parkSender(c) }
                    if immediate { c.resume() }
                }
            }
        }
    }

    /// Receives the next item, or nil once the channel is finished and empty.
    public func receive() async -> Element? {
        let action = lock.withLock { state.receive() }
        switch action {
        case .value(let v, let sender):
            sender?.resume()
            return v
        case .end:
            return nil
        case .wait:
            return await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                let result = lock.withLock { state.parkReceiver(c) }
                switch result {
                case .parked: break
                case .value(let v, let sender):
                    sender?.resume()
                    c.resume(returning: v)
                case .end:
                    c.resume(returning: nil)
                }
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
        var queue: [Element] = []
        var head = 0
        var finished = false
        var receiver: CheckedContinuation<Element?, Never>?
        var senders: [CheckedContinuation<Void, Never>] = []
        var stats = ChannelStatistics()

        init(capacity: Int, policy: OverflowPolicy) {
            self.capacity = capacity
            self.policy = policy
        }

        var count: Int { queue.count - head }

        enum SendAction {
            case resume(CheckedContinuation<Element?, Never>, Element)
            case done(Bool)
            case wait
        }

        mutating func send(_ element: Element) -> SendAction {
            if finished { return .done(false) }
            if let r = receiver {
                receiver = nil
                stats.accepted += 1
                stats.delivered += 1
                return .resume(r, element)
            }
            if count >= capacity {
                switch policy {
                case .block: return .wait
                case .dropNewest:
                    stats.dropped += 1
                    return .done(true)
                case .dropOldest:
                    head += 1
                    stats.dropped += 1
                }
            }
            queue.append(element)
            stats.accepted += 1
            stats.depth = count
            stats.maxDepth = max(stats.maxDepth, count)
            return .done(true)
        }

        /// Parks a sender unless room (or the end) appeared meanwhile.
        mutating func parkSender(_ c: CheckedContinuation<Void, Never>) -> Bool {
            if finished || count < capacity || receiver != nil { return true }
            senders.append(c)
            return false
        }

        enum ReceiveAction {
            case value(Element, CheckedContinuation<Void, Never>?)
            case end
            case wait
        }

        mutating func receive() -> ReceiveAction {
            if count > 0 {
                let v = queue[head]
                head += 1
                if head > 64 && head * 2 > queue.count {
                    queue.removeFirst(head)
                    head = 0
                }
                stats.delivered += 1
                stats.depth = count
                let sender = senders.isEmpty ? nil : senders.removeFirst()
                return .value(v, sender)
            }
            return finished ? .end : .wait
        }

        enum ParkResult {
            case parked
            case value(Element, CheckedContinuation<Void, Never>?)
            case end
        }

        mutating func parkReceiver(_ c: CheckedContinuation<Element?, Never>) -> ParkResult {
            switch receive() {
            case .value(let v, let s): return .value(v, s)
            case .end: return .end
            case .wait:
                precondition(receiver == nil, "BoundedChannel has a single consumer")
                receiver = c
                // A blocked sender may now hand its item over directly.
                return .parked
            }
        }

        mutating func finish() -> (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) {
            finished = true
            let r = count == 0 ? receiver : nil
            if r != nil { receiver = nil }
            let s = senders
            senders = []
            return (r, s)
        }
    }
}
