import Foundation

/// Time for the pipeline: injected so tests use a manual clock and never sleep.
public protocol PipelineClock: Sendable {
    /// Time since the clock's origin.
    func now() -> Duration
    /// Suspends until `now() >= deadline`.
    func sleep(until deadline: Duration) async throws
}

/// The real monotonic clock.
public struct SystemPipelineClock: PipelineClock {
    private let origin = ContinuousClock.now
    /// Creates a clock whose origin is now.
    public init() {}
    public func now() -> Duration { ContinuousClock.now - origin }
    public func sleep(until deadline: Duration) async throws {
        try await ContinuousClock().sleep(until: origin + deadline, tolerance: .microseconds(50))
    }
}

/// A clock that moves only when told: `sleep` waits until `advance` passes the deadline.
public final class ManualPipelineClock: PipelineClock, @unchecked Sendable {
    // Invariant for @unchecked Sendable: `time`, `sleepers`, `tokenOf`, `cancelled` and `tokens` are
    // only touched under `lock`.
    private let lock = NSLock()
    private var time: Duration = .zero
    private var sleepers: [(Duration, CheckedContinuation<Void, Never>)] = []
    /// The token of each sleeper (same order), for cancellation.
    private var tokenOf: [UInt64] = []
    private var cancelled: Set<UInt64> = []
    private var tokens: UInt64 = 0

    /// Creates a clock at zero.
    public init() {}

    public func now() -> Duration { lock.withLock { time } }

    /// Deadlines being waited for now.
    public var pendingDeadlines: [Duration] { lock.withLock { sleepers.map(\.0) } }

    public func sleep(until deadline: Duration) async throws {
        let token = lock.withLock { () -> UInt64 in
            tokens &+= 1
            return tokens
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = lock.withLock { () -> Bool in
                    if deadline <= time || cancelled.remove(token) != nil { return true }
                    sleepers.append((deadline, c))
                    tokenOf.append(token)
                    return false
                }
                if ready { c.resume() }
            }
        } onCancel: {
            let c = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                if let i = tokenOf.firstIndex(of: token) {
                    tokenOf.remove(at: i)
                    return sleepers.remove(at: i).1
                }
                cancelled.insert(token)
                return nil
            }
            c?.resume()
        }
        try Task.checkCancellation()
    }

    /// Moves time forward, waking sleepers whose deadline passed.
    public func advance(by step: Duration) {
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            time += step
            let due = sleepers.filter { $0.0 <= time }.map(\.1)
            tokenOf = zip(sleepers, tokenOf).filter { $0.0.0 > time }.map(\.1)
            sleepers.removeAll { $0.0 <= time }
            return due
        }
        for c in woken { c.resume() }
    }
}

/// Replay pacing: maps media time (the recording's nanoseconds) to the pipeline clock at a
/// speed factor; `nil` speed means as fast as the stages allow.
public final class Pacer: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `anchor` is only touched under `lock`.
    private let lock = NSLock()
    private var anchor: (media: Int64, clock: Duration)?
    /// Speed factor (1 = real time), or nil for no pacing.
    public let speed: Double?
    let clock: any PipelineClock
    /// Lateness of each paced release (how far after its due time it happened), for metrics.
    public let lateness = LatencyRecorder()

    /// Creates a pacer.
    public init(speed: Double?, clock: any PipelineClock) {
        self.speed = speed
        self.clock = clock
    }

    /// Waits until media time `t` is due. The first call anchors media time to now.
    public func wait(untilMedia t: Int64) async throws {
        guard let speed else { return }
        let (media, start) = lock.withLock { () -> (Int64, Duration) in
            if let a = anchor { return a }
            let a = (t, clock.now())
            anchor = a
            return a
        }
        // Media times come from files: their difference may not fit an Int64, and a slow
        // speed stretches it further; both are computed without trapping.
        let (delta, overflow) = t.subtractingReportingOverflow(media)
        let span = overflow ? Double(t) - Double(media) : Double(delta)
        let due = start + .nanoseconds(MediaTime.clamped(span / speed))
        if clock.now() < due { try await clock.sleep(until: due) }
        let late = clock.now() - due
        lateness.record(late)
    }
}

/// Media times: nanoseconds on the spike clock, as files and messages carry them. The
/// runtime accepts those within ``range`` (about ±146 years), so that the difference of any
/// two fits in an `Int64`.
public enum MediaTime {
    /// Accepted media times, nanoseconds.
    public static let range: ClosedRange<Int64> = -(1 << 62)...(1 << 62)
    /// ``range`` as a parameter range.
    public static let intRange = Int(range.lowerBound)...Int(range.upperBound)

    /// `ns` rounded toward zero and clamped to ``range``; NaN is 0.
    public static func clamped(_ ns: Double) -> Int64 {
        guard !ns.isNaN else { return 0 }
        if ns <= Double(range.lowerBound) { return range.lowerBound }
        if ns >= Double(range.upperBound) { return range.upperBound }
        return Int64(ns)
    }

    /// `origin + seconds`, in nanoseconds, or nil when the result is not finite or falls
    /// outside ``range``.
    public static func offset(_ origin: Int64, seconds: Double) -> Int64? {
        offset(origin, nanoseconds: seconds * 1e9)
    }

    /// `origin + nanoseconds` (rounded toward zero), or nil when the result is not finite or
    /// falls outside ``range``.
    public static func offset(_ origin: Int64, nanoseconds: Double) -> Int64? {
        let ns = nanoseconds.rounded(.towardZero)
        guard ns.isFinite, abs(ns) <= Double(range.upperBound) else { return nil }
        let (sum, overflow) = origin.addingReportingOverflow(Int64(ns))
        return !overflow && range.contains(sum) ? sum : nil
    }
}
