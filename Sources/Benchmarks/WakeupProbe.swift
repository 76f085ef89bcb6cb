import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's own floor for a paced release: a bare thread that waits for absolute
/// deadlines `period` apart (`clock_nanosleep`, CLOCK_MONOTONIC) and notes how late each
/// wake-up is. Run beside a paced pipeline, it sees the same load, so the pipeline's pacing
/// error can be read against what no user-space code on this machine does better than.
final class WakeupProbe: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `lateness` and `stopping` are only touched under
    // `lock`; the probe thread alone sleeps.
    private let lock = NSLock()
    private var lateness: [Double] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    private let period: UInt64

    init(period: Duration) {
        let (s, a) = period.components
        self.period = UInt64(max(1, s * 1_000_000_000 + a / 1_000_000_000))
    }

    func start() {
        let thread = Thread { [self] in
            var next = Self.now() &+ period
            while !lock.withLock({ stopping }) {
                var ts = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
                let late = Double(Self.now() &- next) / 1e6
                lock.withLock { lateness.append(late) }
                next &+= period
                let now = Self.now()
                if next < now { next = now &+ period }  // fell behind: no burst of catch-up wakes
            }
            done.signal()
        }
        thread.name = "wakeup-probe"
        thread.start()
    }

    /// Stops the probe; the lateness of its wake-ups, milliseconds (p50, p99, count).
    func stop() -> (p50: Double, p99: Double, count: Int) {
        lock.withLock { stopping = true }
        done.wait()
        let sorted = lock.withLock { lateness.sorted() }
        guard !sorted.isEmpty else { return (0, 0, 0) }
        let at = { (p: Double) in sorted[min(sorted.count - 1, Int(p / 100 * Double(sorted.count)))] }
        return (at(50), at(99), sorted.count)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
