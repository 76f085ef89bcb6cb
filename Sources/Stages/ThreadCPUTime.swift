#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): what the farm's coordinator
/// reports as its own cost, apart from the rest of the pipeline process.
enum ThreadCPUTime {
    /// CPU time the calling thread has used so far, in nanoseconds (0 if the clock is missing).
    static func nanoseconds() -> Int {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Int(ts.tv_sec) * 1_000_000_000 + Int(ts.tv_nsec)
    }

    /// Runs `body` and adds the thread CPU time it took to `total` (nanoseconds).
    @inline(__always)
    static func measure<R, E: Error>(into total: inout Int, _ body: () throws(E) -> R) throws(E) -> R {
        let start = nanoseconds()
        defer { total += nanoseconds() - start }
        return try body()
    }
}
