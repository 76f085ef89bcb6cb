import Foundation
import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's own floor for a paced release: a bare thread that waits for absolute
/// deadlines `period` apart (`clock_nanosleep`, CLOCK_MONOTONIC) and notes how late each
/// wake-up is. Run beside a paced pipeline, it sees the same load, so the pipeline's pacing
/// error can be read against what no user-space code on this machine does better than.
final class WakeupProbe: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `stopping` is only touched under `lock`; the probe
    // thread alone sleeps; `lateness` locks itself.
    private let lock = NSLock()
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    private let period: UInt64
    /// How late each wake-up was, recorded as the pacer records its releases.
    let lateness = LatencyRecorder()

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
                let now = Self.now()
                lateness.record(.nanoseconds(Int64(now - next)))
                next &+= period
                if next < now { next = now &+ period }  // fell behind: no burst of catch-up wakes
            }
            done.signal()
        }
        thread.name = "wakeup-probe"
        thread.start()
    }

    /// Stops the probe and waits for its thread to end.
    func stop() {
        lock.withLock { stopping = true }
        done.wait()
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
