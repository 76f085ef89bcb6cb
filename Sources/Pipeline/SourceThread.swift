import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own for a paced source stage: the stage's code runs there (a task
/// executor preference) instead of on the cooperative pool, and its timed waits are this
/// thread's own timed waits (a monotonic condition-variable timeout), so a release is not
/// late because the pool's few threads are busy building windows or writing files.
///
/// The thread runs jobs in the order they were enqueued; between jobs it fires due timers.
/// ``stop()`` ends the thread once no job is queued and no timer is pending.
public final class SourceThread: TaskExecutor, @unchecked Sendable {
    // Invariant for @unchecked Sendable: `jobs`, `timers`, `nextTimer` and `stopping` are only
    // touched with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var timers: [Timer] = []
    private var nextTimer: UInt64 = 0
    private let name: String
    private var stopping = false

    private struct Timer {
        let id: UInt64
        /// CLOCK_MONOTONIC, nanoseconds.
        let deadline: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    /// The source thread the current task runs its sleeps on, if any.
    @TaskLocal public static var current: SourceThread?

    /// Starts the thread; `name` shows in `top -H` (at most 15 bytes are kept).
    public init(name: String) {
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attr)
        pthread_condattr_destroy(&attr)
        pthread_mutex_init(mutex, nil)
        self.name = name
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let me = Unmanaged<SourceThread>.fromOpaque(raw!).takeRetainedValue()
                me.loop()
                return nil
            }, box.toOpaque())
        if rc != 0 {
            // No thread: jobs would never run. Fall back to running them inline (see enqueue).
            box.release()
            stopping = true
            return
        }
        pthread_detach(thread)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(mutex)
        if stopping && jobs.isEmpty && timers.isEmpty && !running {
            pthread_mutex_unlock(mutex)
            // The thread has ended (or never started): run it here so no task is stranded.
            unowned.runSynchronously(on: asUnownedTaskExecutor())
            return
        }
        jobs.append(unowned)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Whether the thread's loop is alive (guarded by `mutex`).
    private var running = false

    private func loop() {
        Thread.current.name = name  // what `top -H` shows (the kernel keeps 15 bytes)
        pthread_mutex_lock(mutex)
        running = true
        while true {
            let now = Self.monotonicNow()
            var due: [CheckedContinuation<Void, Never>] = []
            if !timers.isEmpty {
                timers.removeAll { t in
                    if t.deadline <= now {
                        due.append(t.continuation)
                        return true
                    }
                    return false
                }
            }
            if !due.isEmpty || !jobs.isEmpty {
                let batch = jobs
                jobs.removeAll(keepingCapacity: true)
                pthread_mutex_unlock(mutex)
                // Resuming enqueues the sleeping task here again (its executor preference).
                for c in due { c.resume() }
                for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
                pthread_mutex_lock(mutex)
                continue
            }
            if stopping && timers.isEmpty { break }
            if let earliest = timers.map(\.deadline).min() {
                var ts = timespec(
                    tv_sec: Int(earliest / 1_000_000_000), tv_nsec: Int(earliest % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &ts)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        running = false
        pthread_mutex_unlock(mutex)
    }

    /// Suspends the calling task until `delay` from now has passed (or the task is
    /// cancelled: then it returns early and the caller checks cancellation).
    public func sleep(for delay: Duration) async {
        let (s, a) = delay.components
        guard s > 0 || (s == 0 && a > 0) else { return }
        // Saturating: a delay past the year 2554 is "never" for a replay.
        let ns =
            s >= Int64(UInt64.max / 1_000_000_000 / 4)
            ? UInt64.max / 4 : UInt64(s) * 1_000_000_000 + UInt64(max(0, a) / 1_000_000_000)
        let deadline = Self.monotonicNow() &+ ns
        pthread_mutex_lock(mutex)
        nextTimer &+= 1
        let id = nextTimer
        pthread_mutex_unlock(mutex)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                pthread_mutex_lock(mutex)
                if Task.isCancelled {
                    pthread_mutex_unlock(mutex)
                    c.resume()
                    return
                }
                timers.append(Timer(id: id, deadline: deadline, continuation: c))
                pthread_cond_signal(condition)
                pthread_mutex_unlock(mutex)
            }
        } onCancel: {
            pthread_mutex_lock(mutex)
            let i = timers.firstIndex { $0.id == id }
            let c = i.map { timers.remove(at: $0).continuation }
            pthread_mutex_unlock(mutex)
            c?.resume()
        }
    }

    /// Lets the thread end once its queued jobs and timers are done.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
