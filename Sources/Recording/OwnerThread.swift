import Foundation

/// One dedicated thread that runs submitted jobs in order: the only thread that touches the
/// writer's HDF5 file.
final class OwnerThread: @unchecked Sendable {
    // Invariant: `jobs` and `stopping` are only read or changed while `condition` is locked.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
    private var thread: Thread?

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        self.thread = thread
        thread.start()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll()
            condition.unlock()
            for job in batch { job() }
        }
    }

    /// Queues `job`; jobs run in submission order.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the owner thread and waits for its result.
    func sync<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        submit {
            result = Result { try body() }
            done.signal()
        }
        done.wait()
        // The semaphore orders the owner's write of `result` before this read.
        guard let result else { fatalError("owner job finished without a result") }
        return try result.get()
    }

    /// Runs `body` on the owner thread; the caller's task is suspended, not blocked.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            submit { c.resume(with: Result { try body() }) }
        }
    }

    /// Lets the thread end after the queued jobs.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    deinit { stop() }
}
