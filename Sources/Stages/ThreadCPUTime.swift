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

/// The farm's messages are megabytes (a 500x800 job is 6 MB, its result 4.8 MB per output),
/// and glibc serves blocks that big with fresh mmaps (once the dynamic threshold is passed,
/// by growing and trimming the heap), whose pages fault in zeroed on first touch and go back
/// to the kernel on free: at 500x800 most of the coordinator's time went to clearing pages.
/// Keeping big blocks in the heap and not trimming it lets the next message reuse the memory;
/// the model's CPU backend does the same for its tensors. Applied once per process.
enum FreedMemory {
    static let keep: Void = {
        #if os(Linux)
            // <malloc.h> is not in the Glibc module: M_TRIM_THRESHOLD is -1, M_MMAP_MAX -4.
            _ = glibcMallopt(-4, 0)
            _ = glibcMallopt(-1, Int32.max)
        #endif
    }()
}

#if os(Linux)
    /// glibc's `int mallopt(int param, int value)`.
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
